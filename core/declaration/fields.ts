// Small typed readers for the parsed document: each checks one value's type, records an issue
// with its key path when it is wrong, and returns undefined so validation can carry on.

import { didYouMean } from '../suggest.js';
import { childPath, type IssueList } from './issues.js';
import { quoted } from '../shown.js';

export type Table = Record<string, unknown>;

/** A mapping (YAML) or table (TOML); not a list, date or null. */
export function isTable(value: unknown): value is Table {
  return Object.prototype.toString.call(value) === '[object Object]';
}

/** "a string", "a number", … for messages that say what was found instead. */
export function describeType(value: unknown): string {
  if (value === null || value === undefined) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Date) return 'a date';
  if (isTable(value)) return 'a map';
  if (typeof value === 'number' || typeof value === 'bigint') return `the number ${String(value)}`;
  if (typeof value === 'boolean') return `the boolean ${String(value)}`;
  return `a ${typeof value}`;
}

/** Reports every key of a table that is not in `known`, with the nearest known key as a suggestion. */
export function checkKeys(table: Table, known: readonly string[], path: string, issues: IssueList): void {
  for (const key of Object.keys(table)) {
    if (known.includes(key)) continue;
    const suggestion = didYouMean(key, known);
    issues.add(childPath(path, key), `unknown key.${suggestion || ` Known keys here: ${known.join(', ')}.`}`);
  }
}

/** Scalars a user probably meant as text: said apart so the message can tell them to quote it. */
function isUnquotedScalar(value: unknown): boolean {
  return typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean' || value instanceof Date;
}

export function readString(value: unknown, path: string, issues: IssueList, what = 'a string'): string | undefined {
  if (typeof value === 'string') return value;
  const quote = isUnquotedScalar(value) ? ` Put it in quotes if it is meant as text.` : '';
  issues.add(path, `expected ${what}, got ${describeType(value)}.${quote}`);
  return undefined;
}

/** A string that must also match a pattern; `rule` says in words what the pattern allows. */
export function readPatterned(value: unknown, path: string, issues: IssueList, pattern: RegExp, rule: string): string | undefined {
  const text = readString(value, path, issues);
  if (text === undefined) return undefined;
  if (!pattern.test(text)) {
    issues.add(path, `${quoted(text)} is not valid: ${rule}.`);
    return undefined;
  }
  return text;
}

/** A list of items read by `item`; a bad item is reported at its index and left out. */
export function readList<T>(value: unknown, path: string, issues: IssueList, item: (v: unknown, p: string) => T | undefined): T[] {
  if (!Array.isArray(value)) {
    issues.add(path, `expected a list, got ${describeType(value)}.`);
    return [];
  }
  const out: T[] = [];
  value.forEach((v, i) => {
    const read = item(v, childPath(path, i));
    if (read !== undefined) out.push(read);
  });
  return out;
}

/** Keeps the first occurrence of each item, in declared order. */
export function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

export function readTable(value: unknown, path: string, issues: IssueList, what = 'a map'): Table | undefined {
  if (isTable(value)) return value;
  issues.add(path, `expected ${what}, got ${describeType(value)}.`);
  return undefined;
}

/** One of a closed set of words, with a suggestion for a near miss. */
export function readChoice<T extends string>(value: unknown, path: string, issues: IssueList, choices: readonly T[]): T | undefined {
  const text = readString(value, path, issues, `one of ${choices.join(', ')}`);
  if (text === undefined) return undefined;
  if ((choices as readonly string[]).includes(text)) return text as T;
  issues.add(path, `${quoted(text)} is not one of ${choices.join(', ')}.${didYouMean(text, choices)}`);
  return undefined;
}
