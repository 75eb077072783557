// compareNames: sinks and the tree digest order names by their UTF-8 bytes, not UTF-16 units.

import { describe, expect, it } from 'vitest';
import { compareNames } from '../../../core/unpack/image-sink.js';

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

describe('compareNames', () => {
  it('agrees with memcmp of the UTF-8 bytes, past U+FFFF too', () => {
    const names = ['a', 'a-b', 'a/b', 'B', 'caf\u00e9', 'cafe\u0301', '\uffff', '\u{1f600}', '\ue000', 'z', '', 'ab', '\u00ff'];
    const ours = [...names].sort(compareNames);
    expect(ours).toEqual([...names].sort(byBytes));
    // UTF-16 order would put the emoji (a surrogate pair) before U+E000: a real difference.
    expect([...names].sort()).not.toEqual(ours);
  });
});
