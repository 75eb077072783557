// Quoting in written modulefiles: Lua long strings and Tcl words must carry any text unchanged.

import { describe, expect, it } from 'vitest';
import { luaString, tclString } from '../../../core/modules/modulefile-text.js';

describe('modulefile quoting', () => {
  it('picks a Lua long-bracket level that the text cannot close', () => {
    expect(luaString('plain')).toBe('[[plain]]');
    expect(luaString('a]]b')).toBe('[=[a]]b]=]');
    expect(luaString('a]]b]=]c')).toBe('[==[a]]b]=]c]==]');
    expect(luaString('\nlead')).toBe('[[\n\nlead]]');
  });

  it('escapes every Tcl substitution character', () => {
    expect(tclString('a "b" $c [d] {e} \\f')).toBe('"a \\"b\\" \\$c \\[d\\] \\{e\\} \\\\f"');
    expect(tclString('two\nlines')).toBe('"two\\nlines"');
  });
});
