// Module names and versions: which spellings a tree may hold (the shell shim applies the same
// rule before it touches a name), and Lmod-like version ordering for the default version.

import { MODULE_NAME } from '../declaration/names.js';

/** One path component of a module name or version: the command-name character set. */
export const MODULE_PART = /^(?!\.\.?$)[A-Za-z0-9._+-]+$/;

export function isModulePart(text: string): boolean {
  return MODULE_PART.test(text);
}

/** `name` or `name/version` (or deeper), each part from MODULE_PART. */
export function isModuleName(text: string): boolean {
  return MODULE_NAME.test(text);
}

type Chunk = number | string;

/** Splits "3.11.2rc1" into [3, 11, 2, "rc", 1]: digit runs become numbers, separators vanish. */
function chunks(version: string): Chunk[] {
  const out: Chunk[] = [];
  for (const match of version.matchAll(/(\d+)|([A-Za-z]+)/g)) {
    out.push(match[1] !== undefined ? Number.parseInt(match[1], 10) : match[2]!.toLowerCase());
  }
  return out;
}

/**
 * Orders versions the way Lmod picks a default when none is marked: digit runs compare as
 * numbers (so 3.10 > 3.9), letter runs by code point, a number above letters at the same
 * position, and a version that is a prefix of another is the lower. Ties fall back to the text.
 */
export function compareVersions(a: string, b: string): number {
  const x = chunks(a);
  const y = chunks(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i]!;
    const q = y[i]!;
    if (p === q) continue;
    if (typeof p === 'number' && typeof q === 'number') return p < q ? -1 : 1;
    if (typeof p === 'number') return 1;
    if (typeof q === 'number') return -1;
    return p < q ? -1 : 1;
  }
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The highest version by compareVersions, or undefined for an empty list. */
export function highestVersion(versions: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const v of versions) if (best === undefined || compareVersions(v, best) > 0) best = v;
  return best;
}
