// Shared set-up of the native tests: the built runtime (built once if missing), a busybox
// root filesystem in a temp dir that `nobody` can read, and the two callers (root, nobody).

import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RELEASE = path.join(ROOT, 'native', 'build', 'Release');
export const LAUNCHER = path.join(RELEASE, 'envlock-launch');
export const ADDON = path.join(RELEASE, 'envlock_native.node');
export const EXEC_ADDON = path.join(RELEASE, 'envlock_exec.node');

const APPLETS = ['sh', 'cat', 'id', 'ls', 'true', 'false', 'sleep', 'echo', 'touch', 'mkdir', 'whoami', 'readlink', 'stat', 'grep', 'kill', 'pwd', 'tr', 'head', 'ps'];

/** Builds native/ with node-gyp when the launcher or addon is missing. */
export function ensureNativeBuild(): void {
  if (existsSync(LAUNCHER) && existsSync(ADDON) && existsSync(EXEC_ADDON)) return;
  const npmDir = path.dirname(path.dirname(execFileSync('readlink', ['-f', execFileSync('which', ['npm']).toString().trim()]).toString().trim()));
  const gyp = path.join(npmDir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  const nodedir = existsSync('/usr/include/node/common.gypi') ? ['--nodedir=/usr'] : [];
  execFileSync(process.execPath, [gyp, 'rebuild', '--directory', 'native', ...nodedir], { cwd: ROOT, stdio: 'ignore' });
}

/** A world-readable temp directory under the system temp dir (reachable by nobody). */
export function publicTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

/**
 * A busybox image: bin/busybox, applet symlinks, etc/os-release. `full` adds every standard
 * mount point so the launcher needs no overlay skeleton.
 */
export function makeRootfs(options: { full?: boolean } = {}): string {
  const root = publicTempDir('envlock-rootfs-');
  mkdirSync(path.join(root, 'bin'), { mode: 0o755 });
  mkdirSync(path.join(root, 'etc'), { mode: 0o755 });
  copyFileSync('/bin/busybox', path.join(root, 'bin', 'busybox'));
  chmodSync(path.join(root, 'bin', 'busybox'), 0o755);
  for (const applet of APPLETS) symlinkSync('busybox', path.join(root, 'bin', applet));
  writeFileSync(path.join(root, 'etc', 'os-release'), 'NAME="envlock-test"\nID=envlocktest\n', { mode: 0o644 });
  if (options.full) {
    for (const dir of ['proc', 'sys', 'dev', 'tmp']) mkdirSync(path.join(root, dir), { mode: 0o755 });
    for (const file of ['passwd', 'group', 'hosts', 'resolv.conf']) writeFileSync(path.join(root, 'etc', file), '', { mode: 0o644 });
    writeFileSync(path.join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n', { mode: 0o644 });
  }
  return root;
}

/** Every path below `dir`, sorted: the evidence that a rootfs was not changed. */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = path.join(rel, entry.name);
      out.push(child);
      if (entry.isDirectory()) walk(child);
    }
  };
  walk('');
  return out.sort();
}

export function removeTree(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface Caller {
  name: string;
  uid: number;
  prefix: string[];
}

const NOBODY = Number(execFileSync('id', ['-u', 'nobody']).toString().trim());

export const CALLERS: Caller[] = [
  { name: 'root', uid: 0, prefix: [] },
  // setpriv execs in place (runuser forks), so signals sent to the spawned pid reach the launcher.
  { name: 'nobody', uid: NOBODY, prefix: ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--'] },
];

/** What this launcher build supports (`envlock-launch --features`). */
export function launcherFeatures(): string[] {
  return execFileSync(LAUNCHER, ['--features'], { encoding: 'utf8' }).trim().split('\n');
}

/**
 * A squashfs image of `dir` made by squashfs-tools, every inode owned by 0 as envlock's own
 * writer makes them (Decision 1), readable by nobody.
 */
export function makeSquashfs(dir: string): string {
  const out = path.join(publicTempDir('envlock-sqfs-'), 'image.sqfs');
  execFileSync('mksquashfs', [dir, out, '-noappend', '-quiet', '-no-progress', '-all-root', '-comp', 'zstd'], { stdio: 'ignore' });
  chmodSync(out, 0o644);
  return out;
}

/**
 * /dev/fuse is 0600 on these machines and 0666 on a stock Debian host (udev); unprivileged
 * squashfs tests need the stock mode, so root sets it as a stock host would.
 */
export function openFuseToUsers(): void {
  if (process.getuid?.() === 0) chmodSync('/dev/fuse', 0o666);
}

export interface NativeResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `command` with `spec` (launcher text) handed over on descriptor 3 (--spec-fd 3), the
 * way envlock passes it: never in argv. `args` go before `--`.
 */
export function runWithSpecFd(spec: string, command: string[], options: { prefix?: string[]; args?: string[]; cwd?: string; onSpawn?: (pid: number) => void; env?: NodeJS.ProcessEnv; launcher?: string } = {}): Promise<NativeResult> {
  const argv = [...(options.prefix ?? []), options.launcher ?? LAUNCHER, ...(options.args ?? []), '--spec-fd', '3', '--', ...command];
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd ?? '/', env: options.env ?? { PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const specPipe = child.stdio[3] as NodeJS.WritableStream;
    specPipe.on('error', () => undefined);
    specPipe.end(spec);
    child.on('spawn', () => child.pid !== undefined && options.onSpawn?.(child.pid));
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

/** Swaps a rendered spec's `rootfs` line for `squashfs IMAGE`. */
export function asSquashfsSpec(text: string, image: string): string {
  return text.replace(/^rootfs .*$/m, `squashfs ${image}`);
}

/** Builds test/native/in-process-caller.c against the entry library into a public temp dir. */
export function buildInProcessCaller(): string {
  const dir = publicTempDir('envlock-caller-');
  const out = path.join(dir, `in-process-caller-${process.pid}`);
  const libs = launcherFeatures().includes('squashfs')
    ? ['-lsquashfuse_ll', '-lsquashfuse', '-lfuse3', '-lzstd', '-llz4', '-llzma', '-llzo2', '-lz', '-lpthread', '-ldl']
    : [];
  const src = path.join(ROOT, 'test', 'native', 'in-process-caller.c');
  execFileSync('cc', ['-std=gnu11', '-O2', `-I${path.join(ROOT, 'native', 'src')}`, src, path.join(RELEASE, 'envlock-entry.a'), ...libs, '-o', out], { stdio: 'pipe' });
  return out;
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** The kernel's short name: a warm holder calls itself envlock-holder. */
  comm: string;
  exe: string;
  cmdline: string;
}

/** Processes whose command line contains `tag` (a marker the test put in the command). */
export function processesWith(tag: string): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (!cmdline.includes(tag) || Number(name) === process.pid) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      let exe = '';
      try {
        exe = readlinkSync(`/proc/${name}/exe`);
      } catch {
        exe = '';
      }
      out.push({ pid: Number(name), ppid, comm, exe, cmdline });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export async function waitUntil(test: () => boolean, ms = 10_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) if (test()) return true;
  return test();
}
