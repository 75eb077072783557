// Squashfs pulls under faults, as root and as nobody: a host where FUSE cannot be used (a forced
// squashfs fails with the fix, exit 4; auto falls back to tree and says so), kill -9 in the middle
// of building the image (nothing partial is ever used, the next pull completes), and several
// pulls of the same image at once (it is built once).

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLI_PATH, makeTempDir, removeTempDirs, runCli } from '../../helpers/cli.js';
import { busyboxEntries } from '../../helpers/busybox-layer.js';
import { buildImage, pushImage, type BuiltImage } from '../../helpers/image-builder.js';
import { tarEntries, type TarEntry } from '../../helpers/tar-writer.js';
import { lockedProject } from './pull-helpers.js';

const registry = inject('registry');
let slow: BuiltImage;
afterAll(() => removeTempDirs());

/** busybox, 4 000 small files and 48 MiB that zstd cannot shrink: a build that lasts long enough to be killed in. */
beforeAll(async () => {
  const entries: TarEntry[] = [...busyboxEntries(), { path: 'data/', type: 'dir' }];
  for (let i = 0; i < 6; i++) entries.push({ path: `data/random-${i}.bin`, type: 'file', mode: 0o644, content: randomBytes(8 << 20) });
  for (let d = 0; d < 20; d++) {
    entries.push({ path: `data/d${d}/`, type: 'dir' });
    for (let f = 0; f < 200; f++) entries.push({ path: `data/d${d}/f${f}`, type: 'file', mode: 0o644, content: Buffer.from(`${d}/${f}\n`) });
  }
  slow = buildImage({ layers: [tarEntries(entries)], compression: 'none', platform: { os: 'linux', architecture: 'amd64' }, createdBy: `squashfs-slow-${Date.now()}` });
  await pushImage(registry, 'squashfs-slow', 'latest', slow);
}, 120_000);

const CALLERS = [{ name: 'root' }, { name: 'nobody', asUser: 'nobody' as const }];
const listing = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);

/**
 * A private mount namespace (set up as root) in which /dev/fuse is not usable: for root, /dev is
 * a fresh tmpfs without it (the fuse module not loaded); for nobody, a root-only 0600 node is bound
 * over it, as on hosts without udev's rule.
 */
const NO_FUSE_ROOT = ['unshare', '-m', '--', 'sh', '-c', [
  'set -e; old=$(mktemp -d); mount --bind /dev "$old"; mount -t tmpfs -o mode=755 tmpfs /dev',
  'for n in null zero full random urandom tty; do touch /dev/$n; mount --bind "$old/$n" /dev/$n; done',
  'mkdir /dev/pts /dev/shm; mount --bind "$old/pts" /dev/pts; mount --bind "$old/shm" /dev/shm; umount -l "$old"',
  'exec "$@"'].join('\n'), 'sh'];
const NO_FUSE_NOBODY = ['unshare', '-m', '--', 'sh', '-c', 'set -e; d=$(mktemp -d); mknod "$d/fuse" c 10 229; chmod 600 "$d/fuse"; mount --bind "$d/fuse" /dev/fuse; exec "$@"', 'sh'];

describe.each(CALLERS)('a host without usable FUSE, as $name', (caller) => {
  it('refuses a forced squashfs with the fix (exit 4) before fetching anything; auto pulls a tree and says why in --verbose and doctor', async () => {
    const forUser = caller.asUser ? { forUser: caller.asUser } : {};
    const dir = await lockedProject(`${registry}/busybox:amd64`, forUser);
    const store = join(makeTempDir('store', forUser), 's');
    const home = makeTempDir('home', forUser);
    const outer = caller.asUser ? NO_FUSE_NOBODY : NO_FUSE_ROOT;
    const reason = caller.asUser ? '/dev/fuse is not accessible to this user' : '/dev/fuse does not exist';
    const fix = caller.asUser ? 'chmod 666 /dev/fuse' : 'modprobe fuse';
    const cli = (args: string[], env: Record<string, string | undefined> = {}) =>
      runCli(args, { cwd: dir, env: { HOME: home, ENVLOCK_STORE: store, ...env }, outer, ...(caller.asUser ? { asUser: caller.asUser } : {}) });

    for (const [args, env] of [[['pull', '--image-format', 'squashfs'], {}], [['pull'], { ENVLOCK_IMAGE_FORMAT: 'squashfs' }]] as const) {
      const forced = await cli([...args], env);
      expect(forced.code, forced.stderr).toBe(4);
      expect(forced.stderr).toContain(reason);
      expect(forced.stderr).toContain(fix);
      expect(forced.stderr).toContain('--image-format tree');
      expect(forced.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
      expect(listing(join(store, 'blobs', 'sha256'))).toEqual([]);
    }

    const auto = await cli(['pull', '--verbose', '--json'], { ENVLOCK_IMAGE_FORMAT: undefined });
    expect(auto.code, auto.stderr).toBe(0);
    expect(auto.stderr).toContain(`Image format: tree (auto: squashfs is not possible here, since ${reason}`);
    expect(auto.stderr).toContain(fix);
    expect(auto.json<{ result: { environments: { form: string }[] } }>().result.environments[0]!.form).toBe('tree');
    expect(listing(join(store, 'squashfs', 'sha256'))).toEqual([]);
    expect(listing(join(store, 'rootfs', 'sha256')).length).toBeGreaterThan(0);

    const doctor = await cli(['doctor'], { ENVLOCK_IMAGE_FORMAT: undefined });
    const line = doctor.stdout.split('\n').find((l) => l.includes('image format')) ?? '';
    expect(line).toMatch(/^WARN/);
    expect(line).toContain(`Pulls store images as trees (auto: squashfs is not possible here, since ${reason}`);
    expect(line).toContain(fix);
  }, 180_000);
});

describe.each(CALLERS)('squashfs builds under faults, as $name', (caller) => {
  const forUser = caller.asUser ? { forUser: caller.asUser } : {};
  const start = (dir: string, store: string, home: string) => {
    const child = spawn(caller.asUser ? 'setpriv' : process.execPath, [
      ...(caller.asUser ? ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath] : []), CLI_PATH, 'pull', '--json', '--image-format', 'squashfs',
    ], { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ENVLOCK_STORE: store, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
    return { child, closed };
  };

  it('kill -9 while the image is built: nothing partial is visible or run, and the next pull completes it', async () => {
    const dir = await lockedProject(`${registry}/squashfs-slow:latest`, forUser);
    const store = join(makeTempDir('store', forUser), 's');
    const home = makeTempDir('home', forUser);
    const hex = slow.digest.slice('sha256:'.length);
    const tmp = join(store, 'tmp');
    const { child, closed } = start(dir, store, home);
    const building = () => listing(tmp).some((n) => n.startsWith(`squashfs-${hex}-`));
    const deadline = Date.now() + 120_000;
    while (!building() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(building()).toBe(true);
    child.kill('SIGKILL');
    await closed;
    // The half-written file stays in tmp/, never under squashfs/.
    expect(listing(join(store, 'squashfs', 'sha256'))).toEqual([]);
    const env = { HOME: home, ENVLOCK_STORE: store };
    const ran = await runCli(['--offline', 'run', 'e', '--', 'true'], { cwd: dir, env, ...(caller.asUser ? { asUser: caller.asUser } : {}) });
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/not in any store|not been pulled|envlock pull/);

    const again = await runCli(['pull', '--image-format', 'squashfs', '--json'], { cwd: dir, env, ...(caller.asUser ? { asUser: caller.asUser } : {}), timeoutMs: 240_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(listing(join(store, 'squashfs', 'sha256'))).toEqual([`${hex}.json`, `${hex}.sqfs`]);
    expect(listing(tmp).filter((n) => n.startsWith('squashfs-'))).toEqual([]);
    const verified = await runCli(['verify'], { cwd: dir, env, ...(caller.asUser ? { asUser: caller.asUser } : {}) });
    expect(verified.code, verified.stderr).toBe(0);
    const ok = await runCli(['--offline', 'run', 'e', '--', 'sh', '-c', 'cat /data/d19/f199'], { cwd: dir, env, ...(caller.asUser ? { asUser: caller.asUser } : {}) });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('19/199\n');
  }, 300_000);

  it('four pulls of one image at once build it once, and all of them use it', async () => {
    const dir = await lockedProject(`${registry}/squashfs-slow:latest`, forUser);
    const store = join(makeTempDir('store', forUser), 's');
    const home = makeTempDir('home', forUser);
    const results = await Promise.all([0, 1, 2, 3].map(() => start(dir, store, home).closed));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const envs = results.map((r) => (JSON.parse(r.stdout) as { result: { environments: { form: string; unpacked: boolean; rootfs: string }[] } }).result.environments[0]!);
    expect(envs.filter((e) => e.unpacked)).toHaveLength(1);
    expect(new Set(envs.map((e) => `${e.form} ${e.rootfs}`)).size).toBe(1);
    expect(envs[0]!.form).toBe('squashfs');
    expect(listing(join(store, 'tmp')).filter((n) => n.startsWith('squashfs-'))).toEqual([]);
    expect(readFileSync(envs[0]!.rootfs).length).toBeGreaterThan(48 << 20);
  }, 300_000);
});
