// Module wrappers against the real test registry's v2/v3/v4 index, as root and as nobody (issue
// 12.6, 12.7): a module prepared on this (v4) node runs the variant a node without AVX-512 or
// AVX2 can execute (ENVLOCK_CPU_MASK takes the features away, for the launcher too), or is
// refused there naming what the node lacks, never started as v4; re-publishing never leaves
// a running wrapper without its files; a wrapper's command cannot write into the store.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { NOBODY, REPO_ROOT, runCli } from '../../helpers/cli.js';
import { openTempDir } from './fixture.js';

const registry = inject('registry');
const base = openTempDir('module-variants');
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

type User = 'root' | 'nobody';

interface Setup {
  home: string;
  store: string;
  tree: string;
  project: string;
  env: Record<string, string>;
}

/** A home, a store inside it, a module tree and a project locking variants:latest, all the user's. */
async function setUp(user: User, name: string): Promise<Setup> {
  const home = path.join(base, `${user}-${name}`);
  fs.mkdirSync(home, { mode: 0o755 });
  const project = path.join(home, 'project');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'envlock.yaml'), `version: 1\nenvironments:\n  vv:\n    image: ${registry}/variants:latest\n    commands: [busybox]\n`);
  if (user === 'nobody') fs.chownSync(home, NOBODY.uid, NOBODY.gid), fs.chownSync(project, NOBODY.uid, NOBODY.gid), fs.chownSync(path.join(project, 'envlock.yaml'), NOBODY.uid, NOBODY.gid);
  const store = path.join(home, 'store');
  const tree = path.join(home, 'tree');
  const env = { HOME: home, ENVLOCK_STORE: store, ENVLOCK_MODULEPATH: tree };
  const locked = await cli(user, ['lock'], project, env);
  expect(locked.code, locked.stderr).toBe(0);
  return { home, store, tree, project, env };
}

function cli(user: User, args: string[], cwd: string, env: Record<string, string>) {
  return runCli(args, { cwd, env, ...(user === 'nobody' ? { asUser: 'nobody' as const } : {}) });
}

/** argv as `user`, with exactly `env` (and PATH). */
function asUser(user: User, argv: string[], env: Record<string, string>): string[] {
  const vars = Object.entries({ PATH: '/usr/bin:/bin', ...env }).map(([k, v]) => `${k}=${v}`);
  return user === 'nobody' ? ['runuser', '-u', 'nobody', '--', '/usr/bin/env', '-i', ...vars, ...argv] : ['/usr/bin/env', '-i', ...vars, ...argv];
}

function run(user: User, argv: string[], env: Record<string, string>, cwd = '/') {
  const full = asUser(user, argv, env);
  return spawnSync(full[0]!, full.slice(1), { cwd, encoding: 'utf8' });
}

/** The wrapper `busybox` of module vv/1 (through the stable prepared name, as the shim puts it on PATH). */
function wrapper(s: Setup): string {
  const dir = path.join(s.tree, 'vv', '1', '.envlock');
  const [hex] = fs.readdirSync(dir).filter((n) => !n.startsWith('.'));
  return path.join(dir, hex!, 'bin', 'busybox');
}

const variantOf = ['sh', '-c', 'echo "$ENVLOCK_TEST_VARIANT"'];

describe.each(['root', 'nobody'] as const)('module wrappers as %s', (user) => {
  it('run the variant the node can execute, chosen per node, never the preparing node\'s v4', async () => {
    const s = await setUp(user, 'all');
    const pulled = await cli(user, ['pull', '--all-platforms'], s.project, s.env);
    expect(pulled.code, pulled.stderr).toBe(0);
    const published = await cli(user, ['module', 'publish', '1'], s.project, s.env);
    expect(published.code, published.stderr).toBe(0);
    const w = wrapper(s);
    const home = { HOME: s.home };
    expect(run(user, [w, ...variantOf], home).stdout).toBe('v4\n');
    expect(run(user, [w, ...variantOf], { ...home, ENVLOCK_CPU_MASK: 'avx512f' }).stdout).toBe('v3\n');
    const v2 = run(user, [w, ...variantOf], { ...home, ENVLOCK_CPU_MASK: 'avx512f,avx2' });
    expect(v2.stderr).toBe('');
    expect(v2.stdout).toBe('v2\n');
    // Through the shim, as a job script on such a node would.
    const shim = path.join(REPO_ROOT, 'shim', 'envlock.sh');
    const script = `. ${shim}; module load vv; busybox sh -c 'echo "$ENVLOCK_TEST_VARIANT"'`;
    const loaded = run(user, ['sh', '-c', script], { ...home, ENVLOCK_MODULEPATH: s.tree, ENVLOCK_CPU_MASK: 'avx512f,avx2' });
    expect(loaded.stdout).toBe('v2\n');
  });

  it('refuse, naming what the node lacks, when only a variant it cannot execute was prepared', async () => {
    const s = await setUp(user, 'v4only');
    // A plain pull on this node takes its best variant alone (v4 here, where AVX-512 is usable).
    const pulled = await cli(user, ['pull'], s.project, s.env);
    expect(pulled.code, pulled.stderr).toBe(0);
    const published = await cli(user, ['module', 'publish', '1'], s.project, s.env);
    expect(published.code, published.stderr).toBe(0);
    const w = wrapper(s);
    expect(run(user, [w, ...variantOf], { HOME: s.home }).stdout).toBe('v4\n');
    const masked = run(user, [w, 'sh', '-c', 'echo ran'], { HOME: s.home, ENVLOCK_CPU_MASK: 'avx512f,avx2' });
    expect(masked.stdout).toBe('');
    expect(masked.stderr).toMatch(/^envlock-launch: cpu: no prepared variant fits this CPU \(\S+ needs avx2, avx512f\)\n$/);
    expect(masked.status).toBe(4);
  });

  it('keep running while the module is published again (the prepared directory is swapped, never removed first)', async () => {
    const s = await setUp(user, 'swap');
    expect((await cli(user, ['pull'], s.project, s.env)).code).toBe(0);
    expect((await cli(user, ['module', 'publish', '1'], s.project, s.env)).code).toBe(0);
    const w = wrapper(s);
    // A job that keeps starting the command, and checks between starts that it is on disk.
    const stop = path.join(base, `${user}-stop`);
    const loop = `n=0; while [ ! -e ${stop} ]; do ${w} true || { echo "failed after $n"; exit 1; }; ` +
      `i=0; while [ $i -lt 200 ]; do [ -x ${w} ] || { echo "missing after $n"; exit 1; }; i=$((i+1)); done; n=$((n+1)); done; echo "ran $n"`;
    const argv = asUser(user, ['sh', '-c', loop], { HOME: s.home });
    const job = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    job.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    job.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    const done = new Promise<number | null>((resolve) => job.on('close', resolve));
    for (let i = 0; i < 6; i++) {
      const again = await cli(user, ['module', 'publish', '1'], s.project, s.env);
      expect(again.code, again.stderr).toBe(0);
    }
    fs.writeFileSync(stop, '');
    expect(await done, out).toBe(0);
    expect(out).toMatch(/^ran [1-9]\d*\n$/);
    // Old versions do not pile up: the current one and the one before it.
    expect(fs.readdirSync(path.join(s.tree, 'vv', '1', '.envlock')).length).toBeLessThanOrEqual(3);
  });

  it('cannot write into the store from a wrapper\'s command, even where $HOME holds the store', async () => {
    const s = await setUp(user, 'ro');
    expect((await cli(user, ['pull'], s.project, s.env)).code).toBe(0);
    expect((await cli(user, ['module', 'publish', '1'], s.project, s.env)).code).toBe(0);
    const w = wrapper(s);
    // The store lies in $HOME, which wrappers bind read-write; the store itself stays read-only.
    const probe = path.join(s.store, 'written-by-wrapper');
    const write = run(user, [w, 'sh', '-c', `touch ${probe} && echo wrote`], { HOME: s.home }, s.store);
    expect(write.stdout).toBe('');
    expect(write.stderr).toContain('Read-only file system');
    expect(fs.existsSync(probe)).toBe(false);
  });

  it.each(['tree', 'squashfs'])('enter a %s image with the root bound ro,nosuid,nodev, as run does', async (format) => {
    const s = await setUp(user, `flags-${format}`);
    const env = { ...s.env, ENVLOCK_IMAGE_FORMAT: format };
    const pulled = await cli(user, ['pull'], s.project, env);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect((await cli(user, ['module', 'publish', '1'], s.project, env)).code).toBe(0);
    const spec = fs.readFileSync(path.join(path.dirname(path.dirname(wrapper(s))), 'spec'), 'utf8');
    expect(spec).toMatch(format === 'squashfs' ? /^squashfs \S+\.sqfs$/m : /^rootfs /m);
    const mounts = run(user, [wrapper(s), 'cat', '/proc/self/mountinfo'], { HOME: s.home });
    expect(mounts.stderr).toBe('');
    // proc(5) mountinfo: field 5 is the mount point, field 6 the per-mount options.
    const root = mounts.stdout.split('\n').map((line) => line.split(' ')).find((fields) => fields[4] === '/');
    expect(root![5]!.split(',')).toEqual(expect.arrayContaining(['ro', 'nosuid', 'nodev']));
  });
});
