// The hand-written TOML emitter: every value it writes must read back unchanged with a real
// TOML parser, and strings must be escaped exactly as the TOML 1.0 basic-string rules say.

import TOML from '@iarna/toml';
import { describe, expect, test } from 'vitest';
import {
  tomlArrayTableHeader,
  tomlInlineTable,
  tomlInteger,
  tomlMultilineArray,
  tomlPair,
  tomlString,
  tomlStringArray,
} from '../../../lockfiles/toml-writer.js';

function readBack(valueText: string): unknown {
  return TOML.parse(`v = ${valueText}\n`).v;
}

describe('tomlString', () => {
  test('escapes quotes and backslashes', () => {
    expect(tomlString('say "hi" \\ bye')).toBe('"say \\"hi\\" \\\\ bye"');
  });

  test('writes every control character as \\uXXXX', () => {
    expect(tomlString('a\nb\tc\u0000d\u007f\u001b')).toBe('"a\\u000Ab\\u0009c\\u0000d\\u007F\\u001B"');
  });

  test('leaves non-ASCII text as UTF-8', () => {
    expect(tomlString('Žilina 😀')).toBe('"Žilina 😀"');
  });

  test.each(['plain', 'quote " and \\ slash', 'tab\tnew\nline\r\u0001\u007f', 'ünïcödé 😀', ''])('reads back %j unchanged', (value) => {
    expect(readBack(tomlString(value))).toBe(value);
  });
});

describe('tomlInteger', () => {
  test('writes plain decimal integers', () => {
    expect(tomlInteger(0)).toBe('0');
    expect(tomlInteger(-0)).toBe('0');
    expect(tomlInteger(3_145_728)).toBe('3145728');
    expect(tomlInteger(Number.MAX_SAFE_INTEGER)).toBe('9007199254740991');
  });

  test('refuses numbers it cannot write exactly', () => {
    expect(() => tomlInteger(1.5)).toThrow(TypeError);
    expect(() => tomlInteger(2 ** 60)).toThrow(TypeError);
    expect(() => tomlInteger(Number.NaN)).toThrow(TypeError);
  });
});

describe('arrays, tables and keys', () => {
  test('one-line arrays and inline tables', () => {
    expect(tomlStringArray([])).toBe('[]');
    expect(tomlStringArray(['a', 'b'])).toBe('["a", "b"]');
    expect(tomlInlineTable([])).toBe('{}');
    expect(tomlInlineTable([['media-type', '"x/y"'], ['size', '1']])).toBe('{ media-type = "x/y", size = 1 }');
    expect(readBack(tomlInlineTable([['devices', '[]'], ['gpu', '"none"']]))).toEqual({ devices: [], gpu: 'none' });
  });

  test('multi-line arrays put one item per line with a trailing comma', () => {
    expect(tomlMultilineArray('layers', ['1', '2'])).toBe('layers = [\n  1,\n  2,\n]');
    expect(tomlMultilineArray('layers', [])).toBe('layers = []');
    expect(TOML.parse(`${tomlMultilineArray('layers', ['{ a = 1 }', '{ a = 2 }'])}\n`)).toEqual({ layers: [{ a: 1 }, { a: 2 }] });
  });

  test('keys must be bare keys', () => {
    expect(tomlPair('media-type', '1')).toBe('media-type = 1');
    expect(tomlArrayTableHeader(['environment', 'image'])).toBe('[[environment.image]]');
    expect(() => tomlPair('has space', '1')).toThrow(TypeError);
    expect(() => tomlArrayTableHeader(['a.b'])).toThrow(TypeError);
  });
});
