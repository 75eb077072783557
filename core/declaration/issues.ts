// Collects every problem found while validating a declaration, so the user sees them all
// at once, and turns them into one EnvlockError that names the file and each key path.

import { EnvlockError, type ErrorCode } from '../errors.js';
import { shortened } from '../shown.js';

export interface Issue {
  /** Where in the file: environments.analysis.prepend-path.PATH[1] */
  path: string;
  /** What is wrong and what was expected, as a sentence fragment ending in a full stop. */
  message: string;
  code: ErrorCode;
  hint?: string;
}

/** A path segment as users would write it: bare when it is a plain key, quoted otherwise. */
export function keySegment(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(shortened(key));
}

/** Joins a parent key path and a child key or list index. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' ? keySegment(key) : `${parent}.${keySegment(key)}`;
}

/** Past this many issues the rest are counted, not kept: a broken file should not flood a terminal. */
const MAX_ISSUES = 50;
/** How many issues the human message lists before it summarises the rest. */
const MAX_LISTED = 12;

export class IssueList {
  readonly items: Issue[] = [];
  dropped = 0;

  add(path: string, message: string, options: { code?: ErrorCode; hint?: string } = {}): void {
    if (this.items.length >= MAX_ISSUES) {
      this.dropped++;
      return;
    }
    const issue: Issue = { path, message, code: options.code ?? 'DECLARATION_INVALID' };
    if (options.hint !== undefined) issue.hint = options.hint;
    this.items.push(issue);
  }

  get empty(): boolean {
    return this.items.length === 0;
  }

  /** Throws the combined error when anything was found; returns otherwise. */
  throwIfAny(file: string): void {
    if (!this.empty) throw issuesError(file, this.items, this.dropped);
  }
}

function describe(issue: Issue): string {
  return issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`;
}

/**
 * One error for all issues. The message's first line is the first issue; further issues follow
 * as indented lines, because the CLI prints only message and hint. The code is PLATFORM_INVALID
 * when every issue is about platforms, otherwise DECLARATION_INVALID.
 */
export function issuesError(file: string, issues: Issue[], dropped = 0): EnvlockError {
  const first = issues[0];
  if (first === undefined) throw new Error('issuesError needs at least one issue');
  const code: ErrorCode = issues.every((i) => i.code === first.code) ? first.code : 'DECLARATION_INVALID';
  const total = issues.length + dropped;
  const lines = [`Declaration ${file} is invalid: ${describe(first)}`];
  if (total > 1) {
    lines.push(`It has ${total - 1} more problem${total === 2 ? '' : 's'}:`);
    for (const issue of issues.slice(1, MAX_LISTED + 1)) lines.push(`  - ${describe(issue)}`);
    const unlisted = total - 1 - Math.min(issues.length - 1, MAX_LISTED);
    if (unlisted > 0) lines.push(`  - … and ${unlisted} more.`);
  }
  const hint = total === 1 && first.hint !== undefined ? first.hint : `Fix ${total === 1 ? 'this key' : 'these keys'} in ${file}; docs/declaration.md lists every key.`;
  return new EnvlockError(code, lines.join('\n'), {
    hint,
    details: { file, issues: issues.map((i) => ({ path: i.path, code: i.code, message: i.message })), ...(dropped > 0 ? { omitted: dropped } : {}) },
  });
}
