// Shared set-up of the native tests: the built runtime (built once if missing), a busybox
// root filesystem in a temp dir that `nobody` can read, and the two callers (root, nobody).

import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RELEASE = path.join(ROOT, 'native', 'build', 'Release');
export const LAUNCHER = path.join(RELEASE, 'envlock-launch');
export const ADDON = path.join(RELEASE, 'envlock_native.node');

const APPLETS = ['sh', 'cat', 'id', 'ls', 'true', 'false', 'sleep', 'echo', 'touch', 'mkdir', 'whoami', 'readlink', 'stat', 'grep', 'kill', 'pwd', 'tr', 'head', 'ps'];

/** Builds native/ with node-gyp when the launcher or addon is missing. */
export function ensureNativeBuild(): void {
  if (existsSync(LAUNCHER) && existsSync(ADDON)) return;
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
