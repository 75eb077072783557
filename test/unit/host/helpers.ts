// Shared helpers for host-integration tests: temp dirs, gcc-built shared libraries, a real
// ldconfig cache over a temp directory, and catching EnvlockErrors.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { EnvlockError } from '../../../core/errors.js';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/cdi');

export async function tempDir(prefix = 'envlock-host-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
}

export async function caught(p: Promise<unknown> | (() => unknown)): Promise<EnvlockError> {
  const error = typeof p === 'function' ? await Promise.resolve().then(p).then(() => undefined, (e: unknown) => e) : await p.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(EnvlockError);
  return error as EnvlockError;
}

export interface SharedLibrary {
  /** C source of the library. */
  source: string;
  /** File name to write, e.g. libfoo.so.1.2.3. */
  file: string;
  soname?: string;
  /** Extra gcc arguments (-L, -l, -nostdlib, version scripts…). */
  args?: string[];
}

/** Compiles a shared library with gcc into dir and returns its path. */
export function buildLibrary(dir: string, lib: SharedLibrary): string {
  const src = path.join(dir, `${lib.file}.c`);
  const out = path.join(dir, lib.file);
  execFileSync('sh', ['-c', 'cat > "$1"', 'sh', src], { input: lib.source });
  const args = ['-shared', '-fPIC', '-o', out, src];
  if (lib.soname !== undefined) args.push(`-Wl,-soname,${lib.soname}`);
  execFileSync('gcc', [...args, ...(lib.args ?? [])], { stdio: 'pipe' });
  return out;
}

/** Builds a real ld.so.cache over `libDirs` with the host's ldconfig; returns the cache file. */
export function buildLdCache(dir: string, libDirs: string[]): string {
  const conf = path.join(dir, 'ld.so.conf');
  const cache = path.join(dir, 'ld.so.cache');
  execFileSync('sh', ['-c', 'cat > "$1"', 'sh', conf], { input: `${libDirs.join('\n')}\n` });
  execFileSync('/sbin/ldconfig', ['-C', cache, '-f', conf], { stdio: 'pipe' });
  return cache;
}
