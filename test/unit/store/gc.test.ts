import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findBlob, ingestBlob, partialPath } from '../../../core/store/blob-store.js';
import { collectGarbage } from '../../../core/store/gc.js';
import { storeInfo } from '../../../core/store/info.js';
import { acquireLock } from '../../../core/store/lock.js';
import { readRegistrations, registerLockfile } from '../../../core/store/registry.js';
import { findRootfs, installRootfs } from '../../../core/store/rootfs-store.js';
import type { Store } from '../../../core/store/store.js';
import { digestOf, fakeSource, makeStore, randomData, removeDir, tempDir } from './helpers.js';

let dir: string;
let store: Store;
const blobs = [1, 2, 3, 4].map((seed) => randomData(1000 * seed, seed));
const descs = blobs.map((data) => ({ digest: digestOf(data), size: data.length }));
const manifestA = digestOf(Buffer.from('manifest-a'));
const manifestB = digestOf(Buffer.from('manifest-b'));

async function ingestAll(target: Store, which: number[]): Promise<void> {
  for (const i of which) await ingestBlob(target, descs[i]!, fakeSource(blobs[i]!).fetch);
}

async function image(target: Store, manifest: string, layers: number[]): Promise<string> {
  const result = await installRootfs(target, manifest, async (tmp) => {
    await fs.writeFile(path.join(tmp, 'file'), manifest);
    return { layers: layers.map((i) => descs[i]!) };
  });
  return result.path;
}

beforeEach(async () => {
  dir = await tempDir();
  store = makeStore(path.join(dir, 'rw'));
});
afterEach(async () => removeDir(dir));

describe('collectGarbage', () => {
  it('removes only what no existing lockfile uses, and forgets deleted lockfiles', async () => {
    await ingestAll(store, [0, 1, 2, 3]);
    await image(store, manifestA, [0, 1]);
    await image(store, manifestB, [2]);
    const kept = path.join(dir, 'project', 'envlock.lock');
    const gone = path.join(dir, 'old', 'envlock.lock');
    await fs.mkdir(path.dirname(kept));
    await fs.writeFile(kept, '');
    await registerLockfile(store, kept, [manifestA, descs[3]!.digest]);
    await registerLockfile(store, gone, [manifestB, descs[2]!.digest]);

    const dry = await collectGarbage(store, { dryRun: true, graceMs: 0 });
    expect(dry.dryRun).toBe(true);
    expect(findRootfs(store, manifestB)).toBeDefined();

    const result = await collectGarbage(store, { graceMs: 0 });
    expect(result.removed.map((e) => `${e.kind} ${e.digest ?? path.basename(e.path)}`).sort()).toEqual(
      dry.removed.map((e) => `${e.kind} ${e.digest ?? path.basename(e.path)}`).sort(),
    );
    const kinds = result.removed.map((e) => [e.kind, e.digest]);
    expect(kinds).toContainEqual(['rootfs', manifestB]);
    expect(kinds).toContainEqual(['blob', descs[2]!.digest]);
    expect(kinds.filter(([k]) => k === 'registration')).toHaveLength(1);
    expect(result.removed).toHaveLength(3);
    expect(result.kept).toBe(4);
    expect(result.bytesFreed).toBeGreaterThanOrEqual(3000);

    expect(findRootfs(store, manifestA)).toBeDefined();
    expect(findRootfs(store, manifestB)).toBeUndefined();
    await expect(fs.stat(`${path.join(store.root, 'rootfs', 'sha256', manifestB.slice(7))}.json`)).rejects.toThrow();
    // Blobs 0 and 1 are kept by rootfs A's meta, blob 3 by the lockfile itself.
    expect([0, 1, 2, 3].map((i) => findBlob(store, descs[i]!.digest) !== undefined)).toEqual([true, true, false, true]);
    expect((await readRegistrations(store)).map((r) => r.path)).toEqual([kept]);
  });

  it('removes a rootfs meta whose rootfs never got published', async () => {
    const rootfs = await image(store, manifestA, []);
    await fs.chmod(rootfs, 0o755);
    await fs.rm(rootfs, { recursive: true });
    const result = await collectGarbage(store, { graceMs: 0 });
    expect(result.removed.map((e) => [e.kind, path.basename(e.path)])).toEqual([['rootfs', `${manifestA.slice(7)}.json`]]);
    await expect(fs.stat(`${rootfs}.json`)).rejects.toThrow();
  });

  it('keeps young entries inside the grace period', async () => {
    await ingestAll(store, [0]);
    const result = await collectGarbage(store);
    expect(result).toMatchObject({ removed: [], kept: 1 });
  });

  it('never touches a read-only store', async () => {
    const siteRoot = path.join(dir, 'site');
    const site = makeStore(siteRoot);
    await ingestAll(site, [0, 1]);
    await image(site, manifestA, [0]);
    const layered = makeStore(store.root, [siteRoot]);
    await ingestAll(layered, [2]);
    const before = await fs.readdir(siteRoot, { recursive: true });
    const result = await collectGarbage(layered, { graceMs: 0 });
    expect(result.removed.map((e) => e.digest)).toEqual([descs[2]!.digest]);
    expect(await fs.readdir(siteRoot, { recursive: true })).toEqual(before);
  });

  it('removes abandoned tmp work but not a partial whose download holds its lock', async () => {
    await ingestBlob(store, descs[1]!, fakeSource(blobs[1]!, { failAfter: 500 }).fetch).catch(() => undefined);
    await ingestBlob(store, descs[2]!, fakeSource(blobs[2]!, { failAfter: 500 }).fetch).catch(() => undefined);
    const busy = await acquireLock(store, `blob-${descs[2]!.digest.slice(7)}`);
    try {
      const result = await collectGarbage(store, { graceMs: 0 });
      expect(result.removed.map((e) => [e.kind, path.basename(e.path)])).toEqual([['tmp', path.basename(partialPath(store, descs[1]!.digest))]]);
      await expect(fs.stat(partialPath(store, descs[2]!.digest))).resolves.toBeDefined();
    } finally {
      await busy.release();
    }
  });
});

describe('storeInfo', () => {
  it('counts blobs and rootfs, lists read-only stores and the bytes sharing saves', async () => {
    await ingestAll(store, [0, 1, 2]);
    await image(store, manifestA, [0, 1]);
    await image(store, manifestB, [0, 1, 2]);
    const siteRoot = path.join(dir, 'site');
    await ingestAll(makeStore(siteRoot), [3]);
    const lockfile = path.join(dir, 'envlock.lock');
    await fs.writeFile(lockfile, '');
    await registerLockfile(store, lockfile, [manifestA]);

    const info = await storeInfo(makeStore(store.root, [siteRoot, path.join(dir, 'missing')]));
    expect(info).toMatchObject({
      path: store.root,
      exists: true,
      layoutVersion: 1,
      blobCount: 3,
      blobBytes: 6000,
      rootfsCount: 2,
      lockfiles: 1,
      liveLockfiles: 1,
      // Blobs 0 (1000 B) and 1 (2000 B) are used by both images but stored once.
      bytesSavedBySharing: 3000,
    });
    expect(info.totalBytes).toBeGreaterThan(6000);
    expect(info.readOnly).toMatchObject([
      { path: siteRoot, exists: true, blobCount: 1, blobBytes: 4000, rootfsCount: 0 },
      { path: path.join(dir, 'missing'), exists: false, blobCount: 0, totalBytes: 0 },
    ]);
  });
});
