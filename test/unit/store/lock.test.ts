import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EnvlockError, EXIT } from '../../../core/errors.js';
import { acquireLock, lockPath, readOwner, withLock, type LockOwner } from '../../../core/store/lock.js';
import type { Store } from '../../../core/store/store.js';
import { makeStore, removeDir, tempDir } from './helpers.js';

let dir: string;
let store: Store;

beforeEach(async () => {
  dir = await tempDir();
  store = makeStore(path.join(dir, 'rw'), [], { lockStaleMs: 400, heartbeatMs: 50 });
  await store.prepare();
});
afterEach(async () => removeDir(dir));

async function plantLock(name: string, owner: LockOwner, ageMs = 0): Promise<string> {
  const lock = lockPath(store, name);
  await fs.mkdir(lock);
  await fs.writeFile(path.join(lock, 'owner.json'), JSON.stringify(owner));
  const when = new Date(Date.now() - ageMs);
  await fs.utimes(lock, when, when);
  return lock;
}

function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('store locks', () => {
  it('breaks at once a fresh-looking lock whose owner is a dead process on this host', async () => {
    await plantLock('blob-x', { host: os.hostname(), pid: deadPid(), started: '', token: 'dead' });
    // A minute of stale timeout: only the dead-pid rule can explain a quick break.
    const patient = makeStore(store.root, [], { lockStaleMs: 60_000 });
    const started = Date.now();
    const value = await withLock(patient, 'blob-x', async () => readOwner(lockPath(store, 'blob-x')));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(value?.pid).toBe(process.pid);
    expect(value?.token).not.toBe('dead');
    expect((await fs.readdir(store.dir('locks'))).sort()).toEqual([]);
  });

  it('breaks a lock from another host whose heartbeat is older than the stale timeout', async () => {
    await plantLock('blob-y', { host: 'elsewhere', pid: 1, started: '', token: 'old' }, 5_000);
    const owner = await withLock(store, 'blob-y', async () => readOwner(lockPath(store, 'blob-y')));
    expect(owner?.host).toBe(os.hostname());
  });

  it('waits for a live holder whose heartbeat stays fresh, and tells who holds it', async () => {
    const options = { lockStaleMs: 800, heartbeatMs: 100 };
    const other = makeStore(store.root, [], { ...options, hostname: 'node-7' });
    const held = await acquireLock(other, 'rootfs-z');
    const waits: (LockOwner | undefined)[] = [];
    const started = Date.now();
    setTimeout(() => void held.release(), 2_400);
    await withLock(makeStore(store.root, [], options), 'rootfs-z', async () => undefined, { onWait: (o) => waits.push(o) });
    // 2.4 s is three stale timeouts: only the heartbeat kept the lock from being broken.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_350);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toMatchObject({ host: 'node-7', pid: process.pid });
  });

  it('fails with STORE_LOCKED when told not to wait, or after its timeout', async () => {
    const held = await acquireLock(makeStore(store.root, [], { hostname: 'node-7' }), 'gc');
    try {
      for (const options of [{ wait: false }, { timeoutMs: 100 }]) {
        const error = await acquireLock(store, 'gc', options).then(() => undefined, (e: unknown) => e);
        expect(error).toBeInstanceOf(EnvlockError);
        expect((error as EnvlockError).code).toBe('STORE_LOCKED');
        expect((error as EnvlockError).exitCode).toBe(EXIT.FAILURE);
        expect((error as EnvlockError).message).toBe(`The store lock gc.lock is held by process ${process.pid} on node-7.`);
      }
    } finally {
      await held.release();
    }
  });

  it('stops waiting with INTERRUPTED when the signal aborts', async () => {
    const held = await acquireLock(makeStore(store.root, [], { hostname: 'node-7' }), 'gc');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const error = await acquireLock(store, 'gc', { signal: controller.signal }).then(() => undefined, (e: unknown) => e);
    expect((error as EnvlockError).code).toBe('INTERRUPTED');
    await held.release();
  });

  it('releases only its own lock', async () => {
    const held = await acquireLock(store, 'blob-w');
    // Someone judged us stale and took over: our release must leave their lock alone.
    await fs.rm(held.path, { recursive: true });
    await plantLock('blob-w', { host: 'node-9', pid: 42, started: '', token: 'theirs' });
    await held.release();
    expect((await readOwner(held.path))?.token).toBe('theirs');
  });

  it('stops its heartbeat once its lock was taken over, leaving the new owner\'s lock alone', async () => {
    const held = await acquireLock(store, 'blob-t');
    await fs.rm(held.path, { recursive: true });
    const lock = await plantLock('blob-t', { host: 'node-9', pid: 42, started: '', token: 'theirs' }, 10_000);
    const before = (await fs.stat(lock)).mtimeMs;
    await new Promise((r) => setTimeout(r, 300));
    expect((await fs.stat(lock)).mtimeMs).toBe(before);
    await held.release();
  });

  it('releases the lock even when the work throws', async () => {
    await expect(withLock(store, 'blob-v', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(fs.stat(lockPath(store, 'blob-v'))).rejects.toThrow();
  });

  it('serialises holders inside one process', async () => {
    const order: string[] = [];
    const work = (id: string) =>
      withLock(store, 'blob-u', async () => {
        order.push(`${id}+`);
        await new Promise((r) => setTimeout(r, 30));
        order.push(`${id}-`);
      });
    await Promise.all([work('a'), work('b'), work('c')]);
    for (let i = 0; i < order.length; i += 2) expect(order[i]!.slice(0, 1)).toBe(order[i + 1]!.slice(0, 1));
  });
});
