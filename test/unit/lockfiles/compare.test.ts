// Code-point ordering must not follow the locale: the unit project runs under sk_SK.UTF-8,
// where "ch" sorts after "h" and localeCompare would reorder the lockfile.

import { describe, expect, test } from 'vitest';
import { compareCodePoints, compareKeys, sortedSet } from '../../../lockfiles/compare.js';

describe('compareCodePoints', () => {
  test('orders "chemistry" before "hydrology" even where the locale would not', () => {
    expect(['hydrology', 'chemistry'].sort(compareCodePoints)).toEqual(['chemistry', 'hydrology']);
    // The locale under test really does disagree, so the test above can fail.
    expect(['hydrology', 'chemistry'].sort((a, b) => a.localeCompare(b, 'sk'))).toEqual(['hydrology', 'chemistry']);
  });

  test('orders upper case before lower case, digits before letters', () => {
    expect(['b', 'a', 'B', '2', 'A'].sort(compareCodePoints)).toEqual(['2', 'A', 'B', 'a', 'b']);
  });

  test('compares characters beyond the BMP by code point, not by UTF-16 unit', () => {
    const emoji = '\u{1F600}';
    const fullwidth = '\uFF5E';
    expect(compareCodePoints(fullwidth, emoji)).toBe(-1);
    expect(compareCodePoints(emoji, fullwidth)).toBe(1);
    expect(fullwidth < emoji).toBe(false); // what plain `<` would have said
  });

  test('a prefix sorts first and equal strings compare equal', () => {
    expect(compareCodePoints('avx', 'avx2')).toBe(-1);
    expect(compareCodePoints('avx2', 'avx')).toBe(1);
    expect(compareCodePoints('sse4_2', 'sse4_2')).toBe(0);
  });
});

describe('sortedSet and compareKeys', () => {
  test('sortedSet sorts by code point and drops repeats without changing its input', () => {
    const input = ['sse4_2', 'avx2', 'avx', 'avx2'];
    expect(sortedSet(input)).toEqual(['avx', 'avx2', 'sse4_2']);
    expect(input).toEqual(['sse4_2', 'avx2', 'avx', 'avx2']);
  });

  test('compareKeys compares element by element, shorter first on a tie', () => {
    expect(compareKeys(['linux/amd64', ''], ['linux/amd64', 'x86-64-v2'])).toBeLessThan(0);
    expect(compareKeys(['linux/arm64'], ['linux/amd64', 'z'])).toBeGreaterThan(0);
    expect(compareKeys(['a'], ['a', 'b'])).toBeLessThan(0);
  });
});

describe('compareCodePoints on surrogates', () => {
  /** The order by code points, spelled out: what compareCodePoints must agree with. */
  function byIterating(a: string, b: string): number {
    const left = [...a].map((c) => c.codePointAt(0)!);
    const right = [...b].map((c) => c.codePointAt(0)!);
    for (let i = 0; i < Math.min(left.length, right.length); i++) if (left[i] !== right[i]) return left[i]! < right[i]! ? -1 : 1;
    return Math.sign(left.length - right.length);
  }

  test('agrees with iterating code points on pairs, lone surrogates and their neighbours', () => {
    const units = ['a', '\uD7FF', '\uD83D', '\uDE00', '\uDBFF', '\uDC00', '\uE000', '\uFFFF'];
    const strings = [''];
    for (const x of units) {
      strings.push(x);
      for (const y of units) strings.push(x + y, `a${x}${y}`);
    }
    for (const a of strings) for (const b of strings) expect(compareCodePoints(a, b), `${escape(a)} ${escape(b)}`).toBe(byIterating(a, b));
  });
});
