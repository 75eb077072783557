// Echoed values (issue 13.6): control characters escaped so one line stays one line, very long
// values cut in the middle with the count left out, and whole characters at the cut.

import { describe, expect, it } from 'vitest';
import { escapeControls, quoted, shortened, shown, terminalSafe, SHOWN_MAX } from '../../core/shown.js';

describe('shown', () => {
  it('escapes newlines, escapes, DEL, C1, line separators and bidi overrides', () => {
    expect(escapeControls('a\nb\rc\td\u001b[31me\u007ff\u0085g\u2028h\u202ei\u2066j')).toBe('a\\nb\\rc\\td\\x1b[31me\\x7ff\\x85g\\u{2028}h\\u{202e}i\\u{2066}j');
    expect(shown('env\nerror: forged')).toBe('env\\nerror: forged');
    expect(quoted('x\u0000y')).toBe('`x\\x00y`');
  });

  it('keeps a message its own newlines but nothing else', () => {
    expect(terminalSafe('one\n  - two\u001b]0;title\u0007')).toBe('one\n  - two\\x1b]0;title\\x07');
  });

  it('leaves ordinary values alone, up to the limit', () => {
    const ref = `registry.example.org:5000/group/project/image:tag@sha256:${'a'.repeat(64)}`;
    expect(shown(ref)).toBe(ref);
    expect(shown('ü'.repeat(SHOWN_MAX))).toBe('ü'.repeat(SHOWN_MAX));
  });

  it('cuts a long value in the middle and says how much was left out', () => {
    const value = `${'h'.repeat(3000)}${'t'.repeat(2000)}`;
    const out = shown(value);
    expect(out).toMatch(/^h+…\[4,\d{3} characters left out\]…t+$/);
    expect(out.length).toBeLessThan(SHOWN_MAX + 40);
    expect(shortened('x'.repeat(100), 50)).toBe(`${'x'.repeat(34)}…[54 characters left out]…${'x'.repeat(12)}`);
  });

  it('never leaves half of a surrogate pair at a cut', () => {
    const out = shortened('😀'.repeat(1000), 51);
    expect(out).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
  });
});
