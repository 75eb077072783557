// `envlock lock --check` without parsing anything: whether a lock is fresh depends only on the
// bytes of the declaration and the lock (and HOME, for `~`, and envlock's own build), so once
// the full CLI has found a pair fresh it records that, and the same pair is answered from it.

import os from 'node:os';
import path from 'node:path';
import { LOCKFILE_NAME } from '../../lockfiles/model.js';
import { successEnvelope } from '../output/envelope.js';
import { scanArgs } from './args.js';
import type { Env, FastAnswer } from './types.js';
import { buildId } from './build-id.js';
import { envlockVersion } from '../../core/version.js';
import { answersDir, findProjectDir, isDirectory, readAnswer, readProjectFiles, writeAnswer, type ProjectFiles, type Question } from './records.js';

export interface LockCheckResult {
  file: string;
  written: boolean;
  fresh?: boolean;
  environments: { name: string; change: string; digest: string; platforms: string[] }[];
}

/** What `lock --check` prints for a fresh lock; the full CLI and the fast path share it. */
export function freshLockOutcome(dir: string, declarationFile: string): { result: LockCheckResult; text: string } {
  return {
    result: { file: path.join(dir, LOCKFILE_NAME), written: false, fresh: true, environments: [] },
    text: `${LOCKFILE_NAME} is up to date with ${path.basename(declarationFile)}.\n`,
  };
}

function question(build: string, home: string, files: ProjectFiles): Question {
  return { kind: 'lock-check', inputs: { build, version: envlockVersion(), home, dir: files.dir }, files };
}

export function lockCheckAnswer(argv: readonly string[], env: Env): FastAnswer | undefined {
  const args = scanArgs(argv, 'lock', { booleans: ['check'] });
  const build = buildId();
  if (args === undefined || !args.booleans.has('check') || build === undefined) return undefined;
  const cwd = args.directory === undefined ? process.cwd() : path.resolve(args.directory);
  const home = env.HOME ?? os.homedir();
  const dir = isDirectory(cwd) ? findProjectDir(cwd, home) : undefined;
  const files = dir === undefined ? undefined : readProjectFiles(dir);
  if (files === undefined || readAnswer(answersDir(env, home), question(build, home, files)) !== true) return undefined;
  const outcome = freshLockOutcome(files.dir, files.declaration);
  return { stdout: args.json ? successEnvelope('lock', outcome.result) : outcome.text, exitCode: 0 };
}

/** The project's files before the full CLI reads them, to record its verdict against. */
export function lockCheckSnapshot(cwd: string, home: string): ProjectFiles | undefined {
  const dir = buildId() === undefined ? undefined : findProjectDir(cwd, home);
  return dir === undefined ? undefined : readProjectFiles(dir);
}

/** Records that the full CLI found `files` fresh. */
export function recordFreshLock(files: ProjectFiles | undefined, declarationFile: string, env: Env, home: string): void {
  const build = buildId();
  if (files === undefined || build === undefined || path.join(files.dir, files.declaration) !== declarationFile) return;
  writeAnswer(answersDir(env, home), question(build, home, files), true);
}
