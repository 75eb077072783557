// Runs the built CLI (dist/bundle/envlock.js) as a child process for end-to-end tests, with a temporary
// HOME and store, optionally as the unprivileged user `nobody` (through runuser).

import { spawn } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (two levels above test/helpers/). */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI_PATH = join(REPO_ROOT, 'dist', 'bundle', 'envlock.js');

/** uid/gid of `nobody` on Debian. */
export const NOBODY = { uid: 65534, gid: 65534 } as const;

export interface CliOptions {
  cwd: string;
  /** Added to (and overriding) the child's environment; HOME and ENVLOCK_STORE default to fresh temp dirs. */
  env?: Record<string, string | undefined>;
  /** Written to the child's stdin, which is then closed. */
  input?: string | Buffer;
  asUser?: 'nobody';
  /** Kill the child (SIGKILL) after this many ms; default 90 000. */
  timeoutMs?: number;
  /** Another script to run instead of the CLI (for tests of this helper). */
  entry?: string;
  /** A command that runs Node for the CLI (e.g. unshare …), placed before it, after runuser. */
  wrap?: readonly string[];
  /** A command run as root that runs the rest (runuser included), e.g. to set up a mount namespace. */
  outer?: readonly string[];
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (throws with the output when it is not JSON). */
  json<T = unknown>(): T;
}

const made: string[] = [];

/** A fresh temp dir; with forUser it is owned by that user so a child running as it can write. */
export function makeTempDir(prefix: string, options: { forUser?: 'nobody' } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), `envlock-${prefix.replace(/[^A-Za-z0-9_.-]/g, '-')}-`));
  if (options.forUser === 'nobody') chownSync(dir, NOBODY.uid, NOBODY.gid);
  made.push(dir);
  return dir;
}

/** Removes every dir makeTempDir made (call from afterAll). */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  // A small, predictable environment: nothing from the developer's shell leaks into the CLI.
  for (const key of ['PATH', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  env.NO_COLOR = '1';
  // Tests written for the tree form keep getting trees on a host where auto would pick squashfs;
  // a test of the squashfs form, or of the default, sets or removes ENVLOCK_IMAGE_FORMAT itself.
  env.ENVLOCK_IMAGE_FORMAT = 'tree';
  return env;
}

export function runCli(args: readonly string[], options: CliOptions): Promise<CliResult> {
  const forUser = options.asUser === 'nobody' ? { forUser: 'nobody' as const } : {};
  const env: Record<string, string> = { ...baseEnv() };
  if (!options.env || !('HOME' in options.env)) env.HOME = makeTempDir('home', forUser);
  if (!options.env || !('ENVLOCK_STORE' in options.env)) env.ENVLOCK_STORE = join(makeTempDir('store', forUser), 'store');
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  const wrap = options.wrap ?? [];
  let command = wrap[0] ?? process.execPath;
  let argv = [...wrap.slice(1), ...(wrap.length > 0 ? [process.execPath] : []), options.entry ?? CLI_PATH, ...args];
  if (options.asUser === 'nobody') {
    // runuser resets HOME/USER/LOGNAME, so the environment is set again through env(1).
    argv = ['-u', 'nobody', '--', '/usr/bin/env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), command, ...argv];
    command = 'runuser';
  }
  if (options.outer !== undefined && options.outer.length > 0) {
    argv = [...options.outer.slice(1), command, ...argv];
    command = options.outer[0]!;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { cwd: options.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 90_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      resolve({
        code,
        signal,
        stdout,
        stderr,
        json<T>() {
          try {
            return JSON.parse(stdout) as T;
          } catch {
            throw new Error(`stdout is not JSON:\n${stdout}\n--- stderr:\n${stderr}`);
          }
        },
      });
    });
    child.stdin.on('error', () => { /* the child may exit before reading its input */ });
    child.stdin.end(options.input ?? '');
  });
}
