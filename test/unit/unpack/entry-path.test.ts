// Member-name normalisation and whiteout classification: the rules docs/security.md promises.

import { describe, expect, it } from 'vitest';
import { EnvlockError } from '../../../core/errors.js';
import { entryComponents, whiteoutOf } from '../../../core/unpack/entry-path.js';

const label = { layer: 'layer 1 of t' };

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof EnvlockError ? error.code : 'not an EnvlockError';
  }
  return undefined;
}

describe('entryComponents', () => {
  it.each([
    ['etc/passwd', ['etc', 'passwd']],
    ['./etc/passwd', ['etc', 'passwd']],
    ['/etc/passwd', ['etc', 'passwd']],
    ['////etc//passwd/', ['etc', 'passwd']],
    ['./', []],
    ['.', []],
    ['a/./b', ['a', 'b']],
    ['back\\slash\\..\\x', ['back\\slash\\..\\x']],
    ['C:..\\x', ['C:..\\x']],
    ['...', ['...']],
    ['..a/b..', ['..a', 'b..']],
  ])('reads %j as %j', (raw, expected) => {
    expect(entryComponents(raw, label)).toEqual(expected);
  });

  it.each(['..', '../x', 'a/../b', '/../etc', 'a/..'])('refuses %j with LAYER_UNSAFE_PATH', (raw) => {
    expect(codeOf(() => entryComponents(raw, label))).toBe('LAYER_UNSAFE_PATH');
  });

  it('refuses a NUL byte, showing it escaped', () => {
    expect(() => entryComponents('a\0b', label)).toThrow('The entry "a\\\\0b" in layer 1 of t has a NUL byte in its path.');
  });

  it('refuses a component longer than NAME_MAX with LAYER_CORRUPT', () => {
    expect(codeOf(() => entryComponents(`d/${'x'.repeat(256)}`, label))).toBe('LAYER_CORRUPT');
    expect(entryComponents(`d/${'x'.repeat(255)}`, label)).toHaveLength(2);
  });
});

describe('whiteoutOf', () => {
  it('classifies whiteout names by name alone', () => {
    expect(whiteoutOf('file', 'file', label)).toEqual({ kind: 'none' });
    expect(whiteoutOf('.wh..wh..opq', 'd/.wh..wh..opq', label)).toEqual({ kind: 'opaque' });
    expect(whiteoutOf('.wh.passwd', 'etc/.wh.passwd', label)).toEqual({ kind: 'remove', name: 'passwd' });
    expect(whiteoutOf('.wh..wh.plnk', '.wh..wh.plnk', label)).toEqual({ kind: 'meta' });
    expect(whiteoutOf('.wh....', '.wh....', label)).toEqual({ kind: 'remove', name: '...' });
  });

  it.each(['.wh.', '.wh..', '.wh...'])('refuses %j with LAYER_UNSAFE_PATH', (base) => {
    expect(codeOf(() => whiteoutOf(base, `d/${base}`, label))).toBe('LAYER_UNSAFE_PATH');
  });
});
