// Locale-free ordering for everything the lockfile sorts. JavaScript's `<` compares UTF-16 code
// units and localeCompare follows the user's locale; the lockfile needs Unicode code-point order.

/** Compares two strings by Unicode code point (never by locale). */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const left = a[Symbol.iterator]();
  const right = b[Symbol.iterator]();
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
