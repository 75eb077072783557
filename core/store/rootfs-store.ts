// Unpacked root filesystems keyed by manifest digest: built in tmp/, sealed read-only and
// fsynced, then published with one rename, so a rootfs is visible only when complete.

import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { EnvlockError, errnoCode } from '../errors.js';
import { assertDigest, digestParts } from '../oci/digest.js';
import { treeDigest } from '../unpack/tree-digest.js';
import type { SampledFile } from './image-sample.js';
import { fsyncDir, randomSuffix, removeTree, sealTree, storeIoError, syncFilesystem, writeFileAtomic } from './fs-util.js';
import { rootfsMetaPathIn, rootfsPathIn, rootfsTreeListPathIn } from './layout.js';
import { withLock, type LockOptions } from './lock.js';
import type { Store } from './store.js';

export interface RootfsLayer {
  digest: string;
  size: number;
  mediaType?: string;
}

/** What a rootfs was made from (rootfs/<alg>/<hex>.json). */
export interface RootfsMeta {
  reference?: string;
  manifestDigest: string;
  config?: string;
  layers: RootfsLayer[];
  /** treeDigest() of the sealed tree (core/unpack/tree-digest.ts), recorded by installRootfs, for `envlock verify`. */
  treeDigest?: string;
  /** A few files' sizes and mtimes, checked by run at every start (image-sample.ts). */
  sample?: SampledFile[];
  unpackedAt: string;
}

/**
 * What a build returns: the meta's fields, and the records its tree digest was computed over
 * (docs/security.md "Tree digest"), kept gzipped beside the rootfs (not in the meta) so that
 * `envlock verify` can check file by file what a user can read (verify-tree.ts).
 */
export type RootfsBuild = (tmpDir: string) => Promise<Omit<RootfsMeta, 'manifestDigest' | 'unpackedAt'> & Partial<RootfsMeta> & { treeRecords?: Buffer }>;

export interface InstallOptions {
  signal?: AbortSignal;
  /** false: keep the build's treeDigest instead of hashing the sealed tree (default true). */
  recordTreeDigest?: boolean;
  /** true: the build left the tree sealed and returned its treeDigest (core/unpack's TreeSink and
   * unpackImage do), so the tree is not walked again here: no seal pass, no digest pass. */
  sealed?: boolean;
  onWait?: LockOptions['onWait'];
  /**
   * true: only the writable store's own rootfs counts as already there. Pull sets it: a
   * read-only store's entry it reaches here was refused by its lookup (another image's meta, or
   * a store others can write), so the image is built into the writable store instead.
   */
  ownStoreOnly?: boolean;
}

import { findRootfs } from './find.js';

export { findRootfs };

/** The meta record next to a rootfs, from the store that holds the rootfs. */
export async function readRootfsMeta(rootfsPath: string): Promise<RootfsMeta | undefined> {
  try {
    return JSON.parse(await fs.readFile(`${rootfsPath}.json`, 'utf8')) as RootfsMeta;
  } catch {
    return undefined;
  }
}

/**
 * Builds and publishes the rootfs unless a store has it. Under the rootfs lock, leftovers of
 * killed builders (tmp/rootfs-<hex>-*) are removed first: holding the lock proves their owner
 * is gone. A build that throws leaves nothing visible.
 */
export async function installRootfs(store: Store, manifestDigest: string, build: RootfsBuild, options: InstallOptions = {}): Promise<{ path: string; created: boolean }> {
  const digest = assertDigest(manifestDigest, 'an image manifest');
  const present = () => (options.ownStoreOnly === true ? ownRootfs(store, digest) : findRootfs(store, digest));
  const existing = present();
  if (existing !== undefined) return { path: existing, created: false };
  await store.prepare();
  const { hex } = digestParts(digest);
  const lockOptions: LockOptions = {};
  if (options.signal !== undefined) lockOptions.signal = options.signal;
  if (options.onWait !== undefined) lockOptions.onWait = options.onWait;
  return withLock(store, `rootfs-${hex}`, async () => {
    const done = present();
    if (done !== undefined) return { path: done, created: false };
    await removeLeftovers(store, hex);
    const target = rootfsPathIn(store.root, digest);
    const tmpDir = path.join(store.dir('tmp'), `rootfs-${hex}-${randomSuffix()}`);
    try {
      // 0700 until sealed: nobody else may modify a tree while it is being unpacked (node-tar README).
      await fs.mkdir(tmpDir, { mode: 0o700 });
    } catch (error) {
      throw storeIoError(error, `rootfs ${hex.slice(0, 12)}`, store.root);
    }
    try {
      const { treeRecords, ...built } = await build(tmpDir);
      let records = treeRecords;
      if (options.signal?.aborted === true) {
        throw new EnvlockError('INTERRUPTED', `Unpacking image ${digest} was interrupted.`, { hint: 'Run the command again.' });
      }
      let treeDigestOfBuild = built.treeDigest;
      if (options.sealed === true) {
        // Durable publication still needs the data on disk: one syncfs(2), or a per-file pass
        // (async, so a lock heartbeat keeps beating) where that is unavailable.
        if (store.durableRootfs && !(await syncFilesystem(tmpDir))) await sealTree(tmpDir, true);
      } else {
        // The private 0700 we created is not the image's "/": unless the build set a mode from the
        // layers, give the root the conventional 0755 (sealed to 0555) so every user can enter it.
        if (((await fs.stat(tmpDir)).mode & 0o7777) === 0o700) await fs.chmod(tmpDir, 0o755);
        await sealTree(tmpDir, store.durableRootfs);
        // The tree digest covers modes, so it is taken after sealing, over exactly the tree that
        // gets published (a digest from inside build would never match again).
        if (options.recordTreeDigest !== false) {
          const tee: Buffer[] = [];
          treeDigestOfBuild = await treeDigest(tmpDir, { tee: (bytes) => tee.push(Buffer.from(bytes)) });
          records = Buffer.concat(tee);
        }
      }
      const meta: RootfsMeta = {
        ...built,
        manifestDigest: digest,
        ...(treeDigestOfBuild === undefined ? {} : { treeDigest: treeDigestOfBuild }),
        unpackedAt: built.unpackedAt ?? new Date().toISOString(),
      };
      await fs.mkdir(path.dirname(target), { recursive: true });
      if (records !== undefined && records.length > 0) await writeFileAtomic(rootfsTreeListPathIn(store.root, digest), gzipSync(records));
      // Meta first: a crash between the two renames leaves a harmless meta without a rootfs,
      // never a visible rootfs without meta.
      await writeFileAtomic(rootfsMetaPathIn(store.root, digest), `${JSON.stringify(meta, null, 2)}\n`);
      // Moving a directory to another parent rewrites its `..` entry, which needs write
      // permission on the directory itself: open the sealed root for the rename only.
      const sealedMode = (await fs.stat(tmpDir)).mode & 0o7777;
      await fs.chmod(tmpDir, sealedMode | 0o200);
      await fs.rename(tmpDir, target);
      await fs.chmod(target, sealedMode);
      await fsyncDir(path.dirname(target));
      return { path: target, created: true };
    } catch (error) {
      await removeTree(tmpDir).catch(() => undefined);
      // Failed system calls become store errors; anything else (a bug in build) stays as it is.
      throw errnoCode(error) === undefined ? error : storeIoError(error, `rootfs ${hex.slice(0, 12)}`, store.root);
    }
  }, lockOptions);
}

function ownRootfs(store: Store, digest: string): string | undefined {
  const candidate = rootfsPathIn(store.root, digest);
  return existsSync(candidate) ? candidate : undefined;
}

async function removeLeftovers(store: Store, hex: string): Promise<void> {
  const tmp = store.dir('tmp');
  for (const name of await fs.readdir(tmp).catch(() => [] as string[])) {
    if (name.startsWith(`rootfs-${hex}-`)) await removeTree(path.join(tmp, name));
  }
}

/**
 * Removes a rootfs and its meta from the writable store (never a read-only one). With `inUse`,
 * asked once the rootfs is out of sight: a launcher takes its lease before it opens an image,
 * so a lease that appears by then is seen, and the rootfs goes back untouched (returns false).
 */
export async function removeRootfs(store: Store, manifestDigest: string, inUse?: () => Promise<boolean>): Promise<boolean> {
  // Moved out of sight first (one rename), so nobody ever finds a half-deleted rootfs.
  const aside = path.join(store.dir('tmp'), `removing-${digestParts(manifestDigest).hex}-${randomSuffix()}`);
  const dir = rootfsPathIn(store.root, manifestDigest);
  const mode = (await fs.stat(dir).catch(() => undefined))?.mode;
  // A directory moved to another parent needs write permission on itself (its `..` changes).
  await fs.chmod(dir, 0o700).catch(() => undefined);
  let moved = true;
  try {
    await fs.rename(dir, aside);
  } catch (error) {
    // Gone already is fine; anything else must not leave a visible rootfs without its meta.
    if (errnoCode(error) !== 'ENOENT') throw storeIoError(error, `rootfs ${digestParts(manifestDigest).hex.slice(0, 12)}`, store.root);
    moved = false;
  }
  if (moved && inUse !== undefined && (await inUse())) {
    await fs.rename(aside, dir);
    if (mode !== undefined) await fs.chmod(dir, mode & 0o7777);
    return false;
  }
  await fs.rm(rootfsMetaPathIn(store.root, manifestDigest), { force: true });
  await fs.rm(rootfsTreeListPathIn(store.root, manifestDigest), { force: true });
  if (moved) await removeTree(aside);
  return true;
}
