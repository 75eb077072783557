// Answers the full CLI records for the fast paths: one small JSON file per question under
// $XDG_CACHE_HOME/envlock/answers/. A record holds the exact bytes of the declaration and the
// lock it was worked out from and every other input of the answer (the envlock build and
// version, HOME, flags, store paths, ...), and is used only when all of them are equal again.
// Records are written only by the owner, read only when owned by the caller and not writable by
// anyone else; a torn, foreign or odd file is simply not an answer.

import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DECLARATION_FILES } from '../../core/declaration/model.js';
import { DECLARATION_MAX_BYTES, LOCKFILE_MAX_BYTES } from '../../core/input-limits.js';
import { discoverProjectDir } from '../../core/project-dir.js';
import { LOCKFILE_NAME } from '../../lockfiles/model.js';
import { readOwnFile } from '../../core/fs/read-own.js';
import { envlockCacheDir } from './cache-dir.js';

/** Bumped whenever the meaning of a record changes. */
const FORMAT = 1;

import type { Env } from './types.js';

/** The project's two files as one invocation saw them. */
export interface ProjectFiles {
  dir: string;
  /** envlock.yaml or envlock.toml. */
  declaration: string;
  /** Both files' bytes, one character per byte (latin1), so equal text means equal bytes. */
  declarationText: string;
  lockText: string;
  /** Inode, size and change time of both: any write between two readings changes it. */
  stamp: string;
}

/** An open-read-stat of one file; undefined when it is not there, null when it is odd or over `limit` bytes. */
function readRegular(file: string, limit: number): { text: string; stamp: string } | undefined | null {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : null;
  }
  try {
    const st = fstatSync(fd, { bigint: true });
    // Past the limit the full CLI explains the refusal (input-limits.ts).
    if (!st.isFile() || st.size > BigInt(limit)) return null;
    return { text: readFileSync(fd, 'latin1'), stamp: `${st.dev}:${st.ino}:${st.size}:${st.ctimeNs}` };
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/**
 * The declaration and lock in `dir`, or undefined unless there is exactly one declaration, a
 * lock beside it, and both are plain readable files (anything else is the full CLI's to explain).
 */
export function readProjectFiles(dir: string): ProjectFiles | undefined {
  let found: { name: string; text: string; stamp: string } | undefined;
  for (const name of DECLARATION_FILES) {
    const file = readRegular(path.join(dir, name), DECLARATION_MAX_BYTES);
    if (file === null || (file !== undefined && found !== undefined)) return undefined;
    if (file !== undefined) found = { name, ...file };
  }
  const lock = readRegular(path.join(dir, LOCKFILE_NAME), LOCKFILE_MAX_BYTES);
  if (found === undefined || lock === undefined || lock === null) return undefined;
  return { dir, declaration: found.name, declarationText: found.text, lockText: lock.text, stamp: `${found.stamp}/${lock.stamp}` };
}

/** True when `dir` is an existing directory (what -C must name). */
export function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** The project the command works on, found from `cwd` exactly as the full CLI finds it. */
export function findProjectDir(cwd: string, home: string): string {
  return discoverProjectDir(cwd, home) ?? cwd;
}

/** $XDG_CACHE_HOME/envlock/answers (cache-dir.ts). */
export function answersDir(env: Env, home: string): string {
  return path.join(envlockCacheDir(env, home), 'answers');
}

/** A short, stable file name for a question (FNV-1a, twice); a collision only costs a miss. */
function recordName(kind: string, inputs: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < inputs.length; i++) {
    const c = inputs.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x01000193 ^ 0x2f) >>> 0;
  }
  return `${kind}-${a.toString(16).padStart(8, '0')}${b.toString(16).padStart(8, '0')}.json`;
}

interface RecordFile {
  format: number;
  kind: string;
  inputs: string;
  declaration: string;
  declarationText: string;
  lockText: string;
  answer: unknown;
}

export interface Question {
  kind: string;
  /** Every input besides the project's files, in a fixed key order. */
  inputs: Record<string, unknown>;
  files: ProjectFiles;
}

type FileTexts = Pick<ProjectFiles, 'declaration' | 'declarationText' | 'lockText'>;

function sameFiles(a: FileTexts, b: FileTexts): boolean {
  return a.declaration === b.declaration && a.declarationText === b.declarationText && a.lockText === b.lockText;
}

/** The recorded answer to exactly this question, or undefined. */
export function readAnswer(dir: string, question: Question): unknown {
  const inputs = JSON.stringify(question.inputs);
  // Only the caller's own record counts, and only one nobody else could have changed.
  const bytes = readOwnFile(path.join(dir, recordName(question.kind, inputs)), { forbiddenMode: 0o022 });
  if (bytes === undefined) return undefined;
  try {
    const record = JSON.parse(bytes.toString('utf8')) as Partial<RecordFile>;
    if (record.format !== FORMAT || record.kind !== question.kind || record.inputs !== inputs) return undefined;
    return sameFiles(record as FileTexts, question.files) ? record.answer : undefined;
  } catch {
    return undefined;
  }
}

let written = 0;

/**
 * Records an answer the full CLI worked out from `question.files`, but only if the project's
 * files are still exactly what it read (so an edit made meanwhile is never recorded as current).
 * Best effort: a cache that cannot be written only loses the shortcut.
 */
export function writeAnswer(dir: string, question: Question, answer: unknown): void {
  const again = readProjectFiles(question.files.dir);
  if (again === undefined || again.stamp !== question.files.stamp || !sameFiles(again, question.files)) return;
  const inputs = JSON.stringify(question.inputs);
  const file = path.join(dir, recordName(question.kind, inputs));
  const temp = `${file}.${process.pid}.${Date.now()}.${written++}.tmp`;
  const record: RecordFile = {
    format: FORMAT,
    kind: question.kind,
    inputs,
    declaration: question.files.declaration,
    declarationText: question.files.declarationText,
    lockText: question.files.lockText,
    answer,
  };
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(temp, `${JSON.stringify(record)}\n`, { flag: 'wx', mode: 0o600 });
    renameSync(temp, file);
  } catch {
    try {
      unlinkSync(temp);
    } catch {
      // nothing was left behind
    }
  }
}
