import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findRootfs, installRootfs, readRootfsMeta } from '../../../core/store/rootfs-store.js';
import type { Store } from '../../../core/store/store.js';
import { digestOf, makeStore, removeDir, tempDir } from './helpers.js';

let dir: string;
let store: Store;
const manifest = digestOf(Buffer.from('manifest-1'));
const hex = manifest.slice(7);
const layer = { digest: digestOf(Buffer.from('layer-1')), size: 7 };

async function buildTree(tmp: string) {
  await fs.mkdir(path.join(tmp, 'bin'));
  await fs.writeFile(path.join(tmp, 'bin', 'tool'), '#!/bin/sh\n', { mode: 0o755 });
  await fs.writeFile(path.join(tmp, 'etc-passwd'), 'root:x:0:0\n', { mode: 0o644 });
  await fs.symlink('bin/tool', path.join(tmp, 'link'));
  return { reference: 'example.test/app:1', layers: [layer] };
}

beforeEach(async () => {
  dir = await tempDir();
  store = makeStore(path.join(dir, 'rw'));
});
afterEach(async () => removeDir(dir));

describe('installRootfs', () => {
  it('publishes a complete, read-only rootfs with its meta, once', async () => {
    const result = await installRootfs(store, manifest, buildTree);
    expect(result).toEqual({ path: path.join(store.root, 'rootfs', 'sha256', hex), created: true });
    expect(findRootfs(store, manifest)).toBe(result.path);
    expect((await fs.stat(result.path)).mode & 0o777).toBe(0o555);
    expect((await fs.stat(path.join(result.path, 'bin'))).mode & 0o777).toBe(0o555);
    expect((await fs.stat(path.join(result.path, 'bin', 'tool'))).mode & 0o777).toBe(0o555);
    expect((await fs.stat(path.join(result.path, 'etc-passwd'))).mode & 0o777).toBe(0o444);
    expect(await fs.readlink(path.join(result.path, 'link'))).toBe('bin/tool');
    const meta = await readRootfsMeta(result.path);
    expect(meta).toMatchObject({ reference: 'example.test/app:1', manifestDigest: manifest, layers: [layer] });
    expect(meta!.treeDigest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(Number.isNaN(Date.parse(meta!.unpackedAt))).toBe(false);
    expect(await fs.readdir(store.dir('tmp'))).toEqual([]);

    let builds = 0;
    const again = await installRootfs(store, manifest, async (t) => {
      builds += 1;
      return buildTree(t);
    });
    expect(again).toEqual({ path: result.path, created: false });
    expect(builds).toBe(0);
  });

  it('with sealed, publishes the tree the build sealed with the digest the build computed, walking nothing', async () => {
    const other = digestOf(Buffer.from('manifest-2'));
    const result = await installRootfs(store, other, async (tmp) => {
      const built = await buildTree(tmp);
      await fs.chmod(path.join(tmp, 'bin', 'tool'), 0o555);
      await fs.chmod(path.join(tmp, 'bin'), 0o1555);
      await fs.chmod(tmp, 0o555);
      // Deliberately not this tree's digest: installRootfs must record it as given, not re-hash.
      return { ...built, treeDigest: `sha256:${'a'.repeat(64)}` };
    }, { sealed: true });
    expect((await fs.stat(result.path)).mode & 0o7777).toBe(0o555);
    expect((await fs.stat(path.join(result.path, 'bin'))).mode & 0o7777).toBe(0o1555);
    expect((await fs.stat(path.join(result.path, 'etc-passwd'))).mode & 0o777).toBe(0o644);
    expect((await readRootfsMeta(result.path))!.treeDigest).toBe(`sha256:${'a'.repeat(64)}`);
  });

  it('leaves nothing visible when the build throws', async () => {
    await expect(
      installRootfs(store, manifest, async (tmp) => {
        await buildTree(tmp);
        await fs.chmod(path.join(tmp, 'bin'), 0o555);
        throw new Error('unpack failed');
      }),
    ).rejects.toThrow('unpack failed');
    expect(findRootfs(store, manifest)).toBeUndefined();
    expect(await fs.readdir(store.dir('tmp'))).toEqual([]);
    expect(await fs.readdir(path.join(store.root, 'rootfs', 'sha256'))).toEqual([]);
    expect(await fs.readdir(store.dir('locks'))).toEqual([]);
  });

  it('cleans up a killed builder\'s leftover tmp dir before building', async () => {
    await store.prepare();
    const leftover = path.join(store.dir('tmp'), `rootfs-${hex}-deadbeef0000`);
    await fs.mkdir(path.join(leftover, 'half'), { recursive: true });
    await fs.chmod(path.join(leftover, 'half'), 0o555);
    await installRootfs(store, manifest, buildTree);
    expect(await fs.readdir(store.dir('tmp'))).toEqual([]);
  });

  it('finds a rootfs in a read-only store first and never builds it again', async () => {
    const siteRoot = path.join(dir, 'site');
    const site = await installRootfs(makeStore(siteRoot), manifest, buildTree);
    const layered = makeStore(store.root, [siteRoot]);
    const result = await installRootfs(layered, manifest, async () => {
      throw new Error('must not build');
    });
    expect(result).toEqual({ path: site.path, created: false });
    await expect(fs.stat(store.root)).rejects.toThrow();
  });

  it('builds concurrent installs of one image once', async () => {
    let builds = 0;
    const results = await Promise.all(
      [1, 2, 3].map(() =>
        installRootfs(store, manifest, async (tmp) => {
          builds += 1;
          await new Promise((r) => setTimeout(r, 50));
          return buildTree(tmp);
        }),
      ),
    );
    expect(builds).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });
});
