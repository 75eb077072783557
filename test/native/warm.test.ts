// Warm starts, as root and as nobody: a second start of the same squashfs image joins the
// first one's holder instead of mounting again; per-run binds and /tmp stay private; the
// holder serves every live user, ignores the job's signals, holds a lease, and exits once
// idle leaving nothing behind; only the same user (and the same Slurm step) shares it.

import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLERS, buildInProcessCaller, ensureNativeBuild, launcherFeatures, makeRootfs, makeSquashfs, openFuseToUsers, publicTempDir, removeTree, runWithSpecFd, waitUntil } from './fixture.js';
import { spawnSync } from 'node:child_process';
import { skipWithout } from '../helpers/features.js';

const SQUASHFS = launcherFeatures().includes('squashfs');
let full: string;
let work: string;

beforeAll(() => {
  ensureNativeBuild();
  openFuseToUsers();
  full = makeRootfs({ full: true }); // every mount point present: / is the image's own mount
  work = publicTempDir('envlock-warm-');
  chmodSync(work, 0o777);
});

afterAll(() => {
  removeTree(full);
  removeTree(work);
});

/** A fresh image (a holder is keyed on the file's identity), readable by nobody. */
function freshImage(): string {
  return makeSquashfs(full);
}

const spec = (image: string, extra = '') => `envlock-launch-spec 1\nsquashfs ${image}\nenv PATH=/bin\ncwd /\nbind-cwd no\n${extra}`;
const ENV = (more: Record<string, string> = {}) => ({ PATH: '/usr/bin:/bin', ENVLOCK_HOLDER_IDLE_SECONDS: '3', ...more });

/** The holder pid a --debug run reports, or undefined for a cold start. */
function holderPid(stderr: string): number | undefined {
  const m = /warm start: joined holder [0-9a-f]+ \(pid (\d+)\)/.exec(stderr);
  return m ? Number(m[1]) : undefined;
}

/** Gone, or a zombie nobody reaps (this machine's pid 1 reaps no orphans). */
function ended(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
  } catch {
    return true;
  }
}

describe.each(CALLERS)('warm starts as $name', ({ name, prefix, uid }) => {
  const skip = skipWithout('squashfs', SQUASHFS);

  it.skipIf(skip)('joins the holder the first start left, and sees the same mount', async () => {
    const image = freshImage();
    const first = await runWithSpecFd(spec(image), ['stat', '-c', '%d', '/'], { prefix, env: ENV(), args: ['--debug'] });
    const second = await runWithSpecFd(spec(image), ['stat', '-c', '%d', '/'], { prefix, env: ENV(), args: ['--debug'] });
    expect(first.stderr).toContain('warm holder');
    expect(holderPid(first.stderr)).toBeDefined();
    expect(second.stderr).not.toContain('started');
    expect(holderPid(second.stderr)).toBe(holderPid(first.stderr));
    expect(second.stdout).toBe(first.stdout); // the same FUSE superblock, not a new mount
    expect(second.status).toBe(0);
    removeTree(path.dirname(image));
  });

  it.skipIf(skip)('keeps each run\'s binds and /tmp private', async () => {
    const image = freshImage();
    const a = publicTempDir('envlock-warm-a-');
    const b = publicTempDir('envlock-warm-b-');
    const go = path.join(work, `go-${name}`);
    rmSync(go, { force: true });
    const ready = path.join(work, `ready-${name}`);
    rmSync(ready, { force: true });
    const binds = (dir: string, at: string) => `bind ${dir} ${at} ro\nbind ${work} ${work} rw\n`;
    const first = runWithSpecFd(spec(image, binds(a, '/data-a')), ['sh', '-c', `echo secret > /tmp/a-marker; touch ${ready}; while [ ! -e ${go} ]; do sleep 0.1; done; ls /tmp`], { prefix, env: ENV(), args: ['--debug'] });
    expect(await waitUntil(() => existsSync(ready))).toBe(true);
    const second = await runWithSpecFd(spec(image, binds(b, '/data-b')), ['sh', '-c', 'ls /tmp; ls -d /data-a /data-b 2>&1'], { prefix, env: ENV(), args: ['--debug'] });
    writeFileSync(go, '');
    const done = await first;
    expect(holderPid(second.stderr)).toBe(holderPid(done.stderr));
    expect(second.stdout).not.toContain('a-marker');
    expect(second.stdout).toContain('ls: /data-a: No such file or directory\n/data-b\n');
    expect(done.stdout).toContain('a-marker\n');
    for (const dir of [a, b, path.dirname(image)]) removeTree(dir);
  });

  it.skipIf(skip)('serves a run longer than its idle timeout through SIGTERM, holds a lease, then exits leaving nothing', async () => {
    const image = freshImage();
    const leases = path.join(work, `leases-${name}`);
    rmSync(leases, { recursive: true, force: true });
    const ready = path.join(work, `long-${name}`);
    rmSync(ready, { force: true });
    let launcher = 0;
    const text = spec(image, `lease ${leases} sha256-${'cd'.repeat(32)}\nbind ${work} ${work} rw\n`);
    const pending = runWithSpecFd(text, ['sh', '-c', `touch ${ready}; sleep 3; cat /etc/os-release`], { prefix, env: ENV({ ENVLOCK_HOLDER_IDLE_SECONDS: '1' }), args: ['--debug'], onSpawn: (p) => (launcher = p) });
    expect(await waitUntil(() => existsSync(ready))).toBe(true);
    // Two leases: the launcher's and the holder's own (it keeps the image open).
    const pids = readdirSync(leases).map((f) => Number(f.split('.').at(-2)));
    expect(pids).toHaveLength(2);
    const holder = pids.find((p) => p !== launcher)!;
    process.kill(holder, 'SIGTERM'); // a scancel reaches every process; the holder stays
    const result = await pending;
    expect(result.stdout).toBe('NAME="envlock-test"\nID=envlocktest\n');
    expect(holderPid(result.stderr)).toBe(holder);
    const key = /joined holder ([0-9a-f]+)/.exec(result.stderr)![1]!;
    expect(await waitUntil(() => ended(holder), 8000), `holder ${holder} ends once idle`).toBe(true);
    const dir = `/tmp/envlock-${uid}`;
    expect(existsSync(path.join(dir, `h-${key}.sock`)), 'socket removed').toBe(false);
    expect(existsSync(path.join(dir, `m-${key}`)), 'mount point removed').toBe(false);
    expect(readdirSync(leases)).toEqual([]);
    removeTree(path.dirname(image));
  });

  it.skipIf(skip)('replaces a holder that was killed, and shares none across Slurm steps', async () => {
    const image = freshImage();
    const step = (id: string) => runWithSpecFd(spec(image), ['true'], { prefix, env: ENV({ SLURM_JOB_ID: '7', SLURM_STEP_ID: id }), args: ['--debug'] });
    const zero = holderPid((await step('0')).stderr)!;
    const one = holderPid((await step('1')).stderr)!;
    expect(one).not.toBe(zero);
    process.kill(zero, 'SIGKILL');
    await waitUntil(() => ended(zero));
    const again = await step('0');
    expect(again.status).toBe(0);
    expect(holderPid(again.stderr)).not.toBe(zero);
    removeTree(path.dirname(image));
  });

  it.skipIf(skip)('joins from a `pid host` spec and from an in-process caller too', async () => {
    const image = freshImage();
    const host = await runWithSpecFd(spec(image, 'pid host\n'), ['stat', '-c', '%d', '/'], { prefix, env: ENV(), args: ['--debug'] });
    expect(holderPid(host.stderr)).toBeDefined();
    const caller = buildInProcessCaller();
    const file = path.join(work, `inproc-${name}.spec`);
    writeFileSync(file, spec(image), { mode: 0o644 });
    const inProcess = spawnSync(prefix[0] ?? caller, [...prefix.slice(1), ...(prefix.length ? [caller] : []), file, 'stat', '-c', '%d', '/'], { encoding: 'utf8', env: ENV() });
    expect(inProcess.stdout.split('\n')[1]).toBe(host.stdout.trim()); // the holder's mount
    removeTree(path.dirname(caller));
    removeTree(path.dirname(image));
  });

  it.skipIf(skip)('never uses a holder directory that is not private to the caller', async () => {
    const image = freshImage();
    const xdg = publicTempDir('envlock-xdg-');
    const planted = path.join(xdg, 'envlock');
    mkdirSync(planted);
    chmodSync(planted, 0o777);
    chownSync(planted, uid === 0 ? 65534 : 0, uid === 0 ? 65534 : 0); // another user's
    const result = await runWithSpecFd(spec(image), ['cat', '/etc/os-release'], { prefix, env: ENV({ XDG_RUNTIME_DIR: xdg }), args: ['--debug'] });
    expect(result.stderr).toContain(`warm start off: ${planted} is not a directory private to uid ${uid}`);
    expect(holderPid(result.stderr)).toBeUndefined();
    expect(result.stdout).toBe('NAME="envlock-test"\nID=envlocktest\n'); // entered cold
    expect(readdirSync(planted)).toEqual([]);
    removeTree(xdg);
    removeTree(path.dirname(image));
  });
});
