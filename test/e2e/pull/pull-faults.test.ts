// `envlock pull` under faults: corrupt, truncated and reset transfers, 503 storms, kill -9 and
// Ctrl-C mid-pull, a full disk, eight concurrent pullers. Wrong bytes are never installed and
// the store stays consistent; the next pull finishes the job.

import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLI_PATH, makeTempDir, removeTempDirs, runCli } from '../../helpers/cli.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import type { BuiltImage } from '../../helpers/image-builder.js';
import { lockedProject, pushBigImage } from './pull-helpers.js';

const registry = inject('registry');
let big: BuiltImage;
let bigLayer: string;
let proxy: FaultProxy;

beforeAll(async () => {
  big = await pushBigImage(registry);
  bigLayer = big.layers[0]!.digest;
  proxy = await startFaultProxy(registry);
});
afterAll(async () => {
  await proxy.stop();
  removeTempDirs();
});

const blobPath = (digest: string) => new RegExp(`/blobs/${digest}$`);
const blobGets = (digest: string) => proxy.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/blobs/${digest}`));
const manifestGets = (digest: string) => proxy.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/manifests/${digest}`));

function storeState(store: string) {
  const list = (sub: string) => (existsSync(join(store, sub)) ? readdirSync(join(store, sub)) : []);
  return { blobs: list('blobs/sha256'), rootfs: list('rootfs/sha256').filter((n) => !n.endsWith('.json') && !n.endsWith('.tree.gz')), tmp: list('tmp') };
}

type Caller = { name: string; asUser?: 'nobody' };
const CALLERS: Caller[] = [{ name: 'root' }, { name: 'nobody', asUser: 'nobody' }];

describe.each(CALLERS)('envlock pull under faults, as $name', (caller) => {
  const forUser = caller.asUser ? { forUser: caller.asUser } : {};
  const as = caller.asUser ? { asUser: caller.asUser } : {};
  /** Spawns the CLI as the caller, without a wrapper process in between (so signals reach it). */
  const spawnPull = (dir: string, store: string, stdio: 'ignore' | 'pipe') => {
    const prefix = caller.asUser ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'] : [];
    const [file, ...rest] = [...prefix, process.execPath, CLI_PATH, 'pull'];
    return spawn(file!, rest, { cwd: dir, env: { ...process.env, HOME: dir, ENVLOCK_STORE: store, NO_COLOR: '1' }, stdio: ['ignore', stdio, stdio] });
  };
  async function freshProject() {
    proxy.setRules([]);
    const dir = await lockedProject(`${proxy.host}/big:latest`, forUser);
    const store = join(makeTempDir('store', forUser), 's');
    proxy.requests.length = 0;
    return { dir, store };
  }

  it('never installs a blob whose bytes do not match its digest, and says so once it gives up', async () => {
    const { dir, store } = await freshProject();
    proxy.setRules([{ method: 'GET', path: blobPath(bigLayer), action: { kind: 'corrupt' } }]);
    const result = await runCli(['pull', '--json'], { cwd: dir, env: { ENVLOCK_STORE: store }, ...as });
    expect(result.code).toBe(1);
    const error = result.json<{ error: { code: string; message: string } }>().error;
    expect(error.code).toBe('DIGEST_MISMATCH');
    expect(error.message).toContain(bigLayer);
    expect(storeState(store).blobs).not.toContain(bigLayer.slice(7));
    expect(storeState(store).rootfs).toEqual([]);
    expect(blobGets(bigLayer).length).toBeGreaterThan(1);
  });

  it('retries a transfer corrupted once and succeeds', async () => {
    const { dir, store } = await freshProject();
    proxy.setRules([{ method: 'GET', path: blobPath(bigLayer), times: 1, action: { kind: 'corrupt' } }]);
    const result = await runCli(['pull'], { cwd: dir, env: { ENVLOCK_STORE: store }, ...as });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('Retrying');
    expect(storeState(store).rootfs).toHaveLength(1);
  });

  it('resumes a download cut off mid-blob with a Range request instead of starting over', async () => {
    const { dir, store } = await freshProject();
    proxy.setRules([{ method: 'GET', path: blobPath(bigLayer), times: 1, action: { kind: 'reset', afterBytes: 8 * 1024 * 1024 } }]);
    const result = await runCli(['pull', '--json'], { cwd: dir, env: { ENVLOCK_STORE: store }, ...as });
    expect(result.code).toBe(0);
    const gets = blobGets(bigLayer);
    expect(gets.length).toBe(2);
    expect(gets[1]!.status).toBe(206);
  });

  it('gives up on a truncated body with SIZE_MISMATCH and installs nothing', async () => {
    const { dir, store } = await freshProject();
    proxy.setRules([{ method: 'GET', path: blobPath(bigLayer), action: { kind: 'truncate' } }]);
    const result = await runCli(['pull', '--json'], { cwd: dir, env: { ENVLOCK_STORE: store }, ...as });
    expect(result.code).toBe(1);
    expect(['SIZE_MISMATCH', 'REGISTRY_PROTOCOL', 'REGISTRY_UNREACHABLE']).toContain(result.json<{ error: { code: string } }>().error.code);
    expect(storeState(store).blobs).not.toContain(bigLayer.slice(7));
    expect(storeState(store).rootfs).toEqual([]);
  });

  it('rides out a short 503 storm and reports a long one clearly', async () => {
    const { dir, store } = await freshProject();
    proxy.setRules([{ method: 'GET', path: blobPath(bigLayer), times: 2, action: { kind: 'status', status: 503, headers: { 'retry-after': '0' } } }]);
    expect((await runCli(['pull'], { cwd: dir, env: { ENVLOCK_STORE: store }, ...as })).code).toBe(0);
    const again = await freshProject();
    proxy.setRules([{ method: 'GET', path: blobPath(bigLayer), action: { kind: 'status', status: 503, headers: { 'retry-after': '0' } } }]);
    const result = await runCli(['pull', '--json'], { cwd: again.dir, env: { ENVLOCK_STORE: again.store }, ...as });
    expect(result.code).toBe(1);
    expect(result.json<{ error: { code: string; message: string } }>().error.code).toBe('REGISTRY_RATE_LIMITED');
    expect(storeState(again.store).rootfs).toEqual([]);
  });

  it('survives kill -9 mid-pull: no partial rootfs is ever visible and the next pull completes', async () => {
    const { dir, store } = await freshProject();
    proxy.setRules([{ method: 'GET', path: blobPath(bigLayer), times: 1, action: { kind: 'slow', bytesPerSecond: 4 * 1024 * 1024 } }]);
    const child = spawnPull(dir, store, 'ignore');
    const started = Date.now();
    while (blobGets(bigLayer).length === 0 && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    expect(storeState(store).rootfs).toEqual([]);
    expect(storeState(store).blobs).not.toContain(bigLayer.slice(7));
    const result = await runCli(['pull', '--json'], { cwd: dir, env: { ENVLOCK_STORE: store }, ...as });
    expect(result.code).toBe(0);
    expect(storeState(store).rootfs).toHaveLength(1);
    // The second run resumed the partial file rather than fetching everything again.
    expect(blobGets(bigLayer).at(-1)!.status).toBe(206);
    expect(storeState(store).tmp.filter((n) => n.startsWith('rootfs-'))).toEqual([]);
  });

  it('stops promptly on Ctrl-C with exit 130 and leaves no half-built rootfs', async () => {
    const { dir, store } = await freshProject();
    proxy.setRules([{ method: 'GET', path: blobPath(bigLayer), times: 1, action: { kind: 'slow', bytesPerSecond: 2 * 1024 * 1024 } }]);
    const child = spawnPull(dir, store, 'pipe');
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const started = Date.now();
    while (blobGets(bigLayer).length === 0 && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1000));
    const signalled = Date.now();
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect(Date.now() - signalled).toBeLessThan(5_000);
    expect(code).toBe(130);
    expect(stderr).toContain('Stopped by Ctrl-C (SIGINT)');
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(storeState(store).rootfs).toEqual([]);
    expect(storeState(store).tmp.filter((n) => n.startsWith('rootfs-'))).toEqual([]);
  });

  it('eight processes pulling the same image at once fetch its manifest, config and each blob once and all succeed', async () => {
    const { dir, store } = await freshProject();
    const runs = await Promise.all(Array.from({ length: 8 }, () => runCli(['pull', '--json'], { cwd: dir, env: { ENVLOCK_STORE: store }, ...as })));
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    // Issue 13.4: Docker Hub counts manifest GETs against its pull limit (the old code made eight).
    expect(manifestGets(big.digest).length).toBe(1);
    expect(blobGets(bigLayer).length).toBe(1);
    for (const layer of big.layers) expect(blobGets(layer.digest).length).toBe(1);
    expect(blobGets(big.configDescriptor.digest).length).toBe(1);
    const roots = new Set(runs.map((r) => r.json<{ result: { environments: { rootfs: string }[] } }>().result.environments[0]!.rootfs));
    expect(roots.size).toBe(1);
  });

  it('a full disk: STORE_FULL naming the store and the space needed; the store stays consistent', async () => {
    const { dir } = await freshProject();
    const mount = makeTempDir('small');
    const store = join(mount, 'store');
    // A 4 MiB filesystem cannot hold the 24 MiB layer. The test (root) mounts a tmpfs directly.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0755', 'tmpfs', mount]);
    try {
      mkdirSync(store);
      if (caller.asUser) execFileSync('chown', [caller.asUser, store]);
      const result = await runCli(['pull', '--json'], { cwd: dir, env: { ENVLOCK_STORE: store }, ...as });
      expect(result.code).toBe(1);
      const error = result.json<{ error: { code: string; message: string } }>().error;
      expect(error.code).toBe('STORE_FULL');
      expect(error.message).toContain(store);
      expect(error.message).toMatch(/\d/);
      expect(storeState(store).rootfs).toEqual([]);
      expect(storeState(store).blobs).not.toContain(bigLayer.slice(7));
    } finally {
      execFileSync('umount', [mount]);
    }
  });
});
