// Locale-free ordering for everything the lockfile sorts. JavaScript's `<` compares UTF-16 code
// units and localeCompare follows the user's locale; the lockfile needs Unicode code-point order.

/** Compares two strings by Unicode code point (never by locale). */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  // UTF-16 code units order like code points except around surrogates, so the strings are
  // walked by code point only from the first difference, or from the high surrogate before it.
  const length = Math.min(a.length, b.length);
  let i = 0;
  while (i < length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  // A string that is a prefix of the other sorts first, also by code point.
  if (i === length) return a.length < b.length ? -1 : 1;
  const x = a.charCodeAt(i);
  const y = b.charCodeAt(i);
  if (!isSurrogate(x) && !isSurrogate(y)) return x < y ? -1 : 1;
  if (i > 0 && isSurrogate(a.charCodeAt(i - 1)) && a.charCodeAt(i - 1) <= 0xdbff) i--;
  const left = a.slice(i)[Symbol.iterator]();
  const right = b.slice(i)[Symbol.iterator]();
  for (;;) {
    const l = left.next();
    const r = right.next();
    if (l.done) return r.done ? 0 : -1;
    if (r.done) return 1;
    const lc = l.value.codePointAt(0)!;
    const rc = r.value.codePointAt(0)!;
    if (lc !== rc) return lc < rc ? -1 : 1;
  }
}

function isSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdfff;
}

/** A new array, sorted by code point with duplicates dropped: the canonical form of a string set. */
export function sortedSet(values: Iterable<string>): string[] {
  return [...new Set(values)].sort(compareCodePoints);
}

/** Compares two lists of keys element by element, each by code point. */
export function compareKeys(a: readonly string[], b: readonly string[]): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const order = compareCodePoints(a[i]!, b[i]!);
    if (order !== 0) return order;
  }
  return a.length - b.length;
}
