// Squashfs images keyed by manifest digest (docs/store.md): written to tmp/ under the image's
// lock by the applier's squashfs destination, made readable by everyone, described by a meta
// file, then renamed into place, so a .sqfs is only ever visible complete.

import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { EnvlockError, errnoCode } from '../errors.js';
import { assertDigest, digestParts, isDigest } from '../oci/digest.js';
import type { SquashfsSettings } from '../squashfs/settings.js';
import type { SquashfsSink, SquashfsSinkOptions } from '../squashfs/squashfs-sink.js';
import { findImage } from './find.js';
import { fsyncDir, randomSuffix, storeIoError, writeFileAtomic } from './fs-util.js';
import { squashfsMetaPathIn, squashfsPathIn } from './layout.js';
import { withLock, type LockOptions } from './lock.js';
import type { RootfsLayer } from './rootfs-store.js';
import type { Store } from './store.js';

/** What a squashfs image was made from, and the file's own digest (squashfs/<alg>/<hex>.json). */
export interface SquashfsMeta {
  form: 'squashfs';
  reference?: string;
  manifestDigest: string;
  config?: string;
  layers: RootfsLayer[];
  /** docs/security.md "Tree digest", from the applier's tree: the same as the tree form's. */
  treeDigest: string;
  /** sha256 and size of the .sqfs file as written, for `envlock verify`. */
  file: { digest: string; size: number };
  /** The writer's settings (the bytes depend on them). */
  writer: SquashfsSettings;
  builtAt: string;
}

export interface SquashfsBuilt {
  treeDigest: string;
  reference?: string;
  config?: string;
  layers: RootfsLayer[];
}

/** Applies every layer into `sink` and finishes it (core/unpack/unpack-image.ts does both). */
export type SquashfsBuild = (sink: SquashfsSink) => Promise<SquashfsBuilt>;

export interface InstallSquashfsOptions {
  signal?: AbortSignal;
  onWait?: LockOptions['onWait'];
  /** Compression threads (default: every CPU this process may use). */
  workers?: number;
  /** true: only the writable store's own image counts as already there (rootfs-store.ts InstallOptions). */
  ownStoreOnly?: boolean;
}

export async function readSquashfsMeta(sqfsPath: string): Promise<SquashfsMeta | undefined> {
  try {
    return JSON.parse(await fs.readFile(sqfsPath.replace(/\.sqfs$/, '.json'), 'utf8')) as SquashfsMeta;
  } catch {
    return undefined;
  }
}

/**
 * Builds and publishes the squashfs image unless a store has it. Processes that need the same
 * image at once build it once: the others wait on the lock and find it done. Leftovers of a
 * killed builder (tmp/squashfs-<hex>-*) are removed under the lock, which proves their owner gone.
 */
export async function installSquashfs(store: Store, manifestDigest: string, build: SquashfsBuild, options: InstallSquashfsOptions = {}): Promise<{ path: string; created: boolean }> {
  const digest = assertDigest(manifestDigest, 'an image manifest');
  const present = () => {
    const found = findImage(store, digest, { forms: ['squashfs'] });
    return options.ownStoreOnly === true && found?.readOnly === true ? ownImage(store, digest) : found?.path;
  };
  const existing = present();
  if (existing !== undefined) return { path: existing, created: false };
  await store.prepare();
  const { hex } = digestParts(digest);
  const lockOptions: LockOptions = {};
  if (options.signal !== undefined) lockOptions.signal = options.signal;
  if (options.onWait !== undefined) lockOptions.onWait = options.onWait;
  const what = `the squashfs image ${hex.slice(0, 12)}`;
  return withLock(store, `squashfs-${hex}`, async () => {
    const done = present();
    if (done !== undefined) return { path: done, created: false };
    await removeLeftovers(store, hex);
    const target = squashfsPathIn(store.root, digest);
    const tmp = path.join(store.dir('tmp'), `squashfs-${hex}-${randomSuffix()}.sqfs`);
    const { SquashfsSink } = await import('../squashfs/squashfs-sink.js');
    const sinkOptions: SquashfsSinkOptions = { durable: store.durableRootfs };
    if (options.workers !== undefined) sinkOptions.workers = options.workers;
    let sink: SquashfsSink;
    try {
      sink = await SquashfsSink.create(tmp, sinkOptions);
    } catch (error) {
      throw errnoCode(error) === undefined ? error : storeIoError(error, what, store.root);
    }
    try {
      const built = await build(sink);
      if (options.signal?.aborted === true) {
        throw new EnvlockError('INTERRUPTED', `Building the squashfs image of ${digest} was interrupted.`, { hint: 'Run the command again.' });
      }
      const result = sink.result;
      if (result === undefined) throw new Error('installSquashfs: the build returned without finishing the image');
      const meta: SquashfsMeta = {
        form: 'squashfs',
        ...built,
        manifestDigest: digest,
        file: { digest: result.digest, size: result.size },
        writer: result.settings,
        builtAt: new Date().toISOString(),
      };
      // Readable by everyone the store serves, writable by nobody.
      await fs.chmod(tmp, 0o444);
      await fs.mkdir(path.dirname(target), { recursive: true });
      // Meta first: a crash between the two leaves a harmless meta without an image.
      await writeFileAtomic(squashfsMetaPathIn(store.root, digest), `${JSON.stringify(meta, null, 2)}\n`);
      await fs.rename(tmp, target);
      await fsyncDir(path.dirname(target));
      return { path: target, created: true };
    } catch (error) {
      await sink.abort().catch(() => undefined);
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw errnoCode(error) === undefined ? error : storeIoError(error, what, store.root);
    }
  }, lockOptions);
}

function ownImage(store: Store, digest: string): string | undefined {
  const candidate = squashfsPathIn(store.root, digest);
  return existsSync(candidate) ? candidate : undefined;
}

async function removeLeftovers(store: Store, hex: string): Promise<void> {
  const tmp = store.dir('tmp');
  for (const name of await fs.readdir(tmp).catch(() => [] as string[])) {
    if (name.startsWith(`squashfs-${hex}-`)) await fs.rm(path.join(tmp, name), { force: true });
  }
}

/** Removes a squashfs image and its meta from the writable store (never a read-only one). */
export async function removeSquashfs(store: Store, manifestDigest: string, inUse?: () => Promise<boolean>): Promise<boolean> {
  const file = squashfsPathIn(store.root, manifestDigest);
  // Moved out of sight first (one rename): nobody finds an image whose meta is already gone.
  const aside = path.join(store.dir('tmp'), `removing-${digestParts(manifestDigest).hex}-${randomSuffix()}.sqfs`);
  let moved = true;
  try {
    await fs.rename(file, aside);
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw storeIoError(error, `the squashfs image ${digestParts(manifestDigest).hex.slice(0, 12)}`, store.root);
    moved = false;
  }
  // A lease taken before the rename is seen now (as removeRootfs does): put the image back.
  if (moved && inUse !== undefined && (await inUse())) {
    await fs.rename(aside, file);
    return false;
  }
  await fs.rm(squashfsMetaPathIn(store.root, manifestDigest), { force: true });
  if (moved) await fs.rm(aside, { force: true });
  return true;
}

/** The squashfs images (and metas) under a store root: squashfs/<alg>/<hex>.{sqfs,json}. */
export async function listSquashfs(root: string): Promise<{ digest: string; file: string; hasImage: boolean; hasMeta: boolean }[]> {
  const found = new Map<string, { digest: string; file: string; hasImage: boolean; hasMeta: boolean }>();
  const base = path.join(root, 'squashfs');
  for (const algorithm of (await fs.readdir(base).catch(() => [] as string[])).sort()) {
    for (const name of (await fs.readdir(path.join(base, algorithm)).catch(() => [] as string[])).sort()) {
      const match = /^([a-f0-9]+)\.(sqfs|json)$/.exec(name);
      if (match === null || !isDigest(`${algorithm}:${match[1]}`)) continue;
      const digest = `${algorithm}:${match[1]}`;
      const entry = found.get(digest) ?? { digest, file: path.join(base, algorithm, `${match[1]}.sqfs`), hasImage: false, hasMeta: false };
      if (match[2] === 'sqfs') entry.hasImage = true;
      else entry.hasMeta = true;
      found.set(digest, entry);
    }
  }
  return [...found.values()];
}
