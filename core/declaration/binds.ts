// Bind mounts as declared: `SRC[:DST[:ro|rw]]` strings or {source, target, read-only} tables.
// Sources resolve against the declaration's directory (and `~` against home), so a project
// behaves the same from any working directory; targets must be plain absolute paths.

import path from 'node:path';
import type { BindSpec } from './model.js';
import { checkKeys, describeType, isTable, readString, type Table } from './fields.js';
import { childPath, type IssueList } from './issues.js';
import { quoted } from '../shown.js';

export const BIND_KEYS = ['source', 'target', 'read-only'] as const;

export interface BindBase {
  /** Directory of the declaration file: relative sources are taken from here. */
  dir: string;
  home: string;
}

function resolveSource(source: string, where: string, base: BindBase, issues: IssueList): string | undefined {
  if (source === '') {
    issues.add(where, 'the source path is empty.');
    return undefined;
  }
  if (source.includes('\0')) {
    issues.add(where, 'the source path contains a NUL character.');
    return undefined;
  }
  if (source === '~' || source.startsWith('~/')) return path.resolve(base.home, source.slice(2));
  if (source.startsWith('~')) {
    issues.add(where, `${quoted(source)} names another user's home; only \`~\` and \`~/…\` are supported.`, { hint: 'Write the absolute path instead.' });
    return undefined;
  }
  return path.resolve(base.dir, source);
}

function checkTarget(target: string, where: string, issues: IssueList): string | undefined {
  if (!target.startsWith('/')) {
    issues.add(where, `the target ${quoted(target)} must be an absolute path inside the environment.`);
    return undefined;
  }
  // `..` could climb out of the root file system once the runtime joins it to the rootfs.
  if (target.split('/').includes('..')) {
    issues.add(where, `the target ${quoted(target)} must not contain \`..\`.`);
    return undefined;
  }
  if (target.includes('\0')) {
    issues.add(where, 'the target contains a NUL character.');
    return undefined;
  }
  const normal = path.posix.normalize(target).replace(/\/+$/, '');
  if (normal === '') {
    issues.add(where, 'the target must not be `/`: that would hide the whole environment.');
    return undefined;
  }
  return normal;
}

function fromString(text: string, where: string, base: BindBase, issues: IssueList): BindSpec | undefined {
  const parts = text.split(':');
  if (parts.length > 3) {
    issues.add(where, `${quoted(text)} has too many \`:\`; write SRC[:DST[:ro|rw]], or use a table with source and target for paths that contain \`:\`.`);
    return undefined;
  }
  const [src, dst, mode] = parts as [string, string | undefined, string | undefined];
  if (mode !== undefined && mode !== 'ro' && mode !== 'rw') {
    issues.add(where, `the mode ${quoted(mode)} in ${quoted(text)} must be \`ro\` or \`rw\`.`);
    return undefined;
  }
  const source = resolveSource(src, where, base, issues);
  if (source === undefined) return undefined;
  const target = checkTarget(dst === undefined || dst === '' ? source : dst, where, issues);
  if (target === undefined) return undefined;
  return { source, target, readOnly: mode === 'ro' };
}

function fromTable(table: Table, where: string, base: BindBase, issues: IssueList): BindSpec | undefined {
  checkKeys(table, BIND_KEYS, where, issues);
  if (table.source === undefined) {
    issues.add(childPath(where, 'source'), 'is required: the host path to bind.');
    return undefined;
  }
  const src = readString(table.source, childPath(where, 'source'), issues);
  if (src === undefined) return undefined;
  const source = resolveSource(src, childPath(where, 'source'), base, issues);
  let dst: string | undefined;
  if (table.target !== undefined) {
    dst = readString(table.target, childPath(where, 'target'), issues);
    if (dst === undefined) return undefined;
  }
  let readOnly = false;
  if (table['read-only'] !== undefined) {
    if (typeof table['read-only'] !== 'boolean') {
      issues.add(childPath(where, 'read-only'), `expected true or false, got ${describeType(table['read-only'])}.`);
      return undefined;
    }
    readOnly = table['read-only'];
  }
  if (source === undefined) return undefined;
  const target = checkTarget(dst ?? source, childPath(where, 'target'), issues);
  if (target === undefined) return undefined;
  return { source, target, readOnly };
}

/** Reads the `binds` list; two binds onto one target are an error because the later would hide the earlier. */
export function readBinds(value: unknown, where: string, base: BindBase, issues: IssueList): BindSpec[] {
  if (!Array.isArray(value)) {
    issues.add(where, `expected a list of binds, got ${describeType(value)}.`);
    return [];
  }
  const out: BindSpec[] = [];
  const seen = new Map<string, number>();
  value.forEach((item, i) => {
    const at = childPath(where, i);
    let bind: BindSpec | undefined;
    if (typeof item === 'string') bind = fromString(item, at, base, issues);
    else if (isTable(item)) bind = fromTable(item, at, base, issues);
    else issues.add(at, `expected a string SRC[:DST[:ro|rw]] or a table with source, target and read-only, got ${describeType(item)}.`);
    if (bind === undefined) return;
    const earlier = seen.get(bind.target);
    if (earlier !== undefined) {
      issues.add(at, `the target ${quoted(bind.target)} is already bound by ${childPath(where, earlier)}.`);
      return;
    }
    seen.set(bind.target, i);
    out.push(bind);
  });
  return out;
}
