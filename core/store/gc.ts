// Garbage collection of the writable store: removes blobs and rootfs no registered lockfile
// uses and no running entry holds a lease on, registrations whose lockfile is gone, dead
// leases, and abandoned tmp/ work. Read-only stores are never touched.

import fs from 'node:fs/promises';
import path from 'node:path';
import { isDigest } from '../oci/digest.js';
import { errnoCode, isEnvlockError } from '../errors.js';
import { removeTree, treeBytes } from './fs-util.js';
import { DIRS } from './layout.js';
import { readLeases } from './lease.js';
import { acquireLock, withLock, sweepStaleLocks } from './lock.js';
import { readRegistrations } from './registry.js';
import { readRootfsMeta, removeRootfs } from './rootfs-store.js';
import type { Store } from './store.js';

export interface GcOptions {
  dryRun?: boolean;
  /** Entries younger than this are kept, so a pull that has not registered yet keeps its work (default 10 min). */
  graceMs?: number;
}

export type GcKind = 'blob' | 'rootfs' | 'squashfs' | 'tmp' | 'registration';

export interface GcEntry {
  kind: GcKind;
  path: string;
  digest?: string;
  bytes: number;
}

/** Removes an entry unless dry-running; `remove` resolving to false means it was kept (in use). */
export type Drop = (entry: GcEntry, remove: () => Promise<unknown>) => Promise<boolean>;

export interface GcResult {
  dryRun: boolean;
  removed: GcEntry[];
  /** Images no lockfile uses that were kept because a running entry holds a lease on them. */
  inUse: GcEntry[];
  /** Blobs and rootfs kept because a lockfile uses them (or they are too young). */
  kept: number;
  bytesFreed: number;
}

export async function collectGarbage(store: Store, options: GcOptions = {}): Promise<GcResult> {
  const dryRun = options.dryRun ?? false;
  const grace = options.graceMs ?? 10 * 60_000;
  await store.prepare();
  return withLock(store, 'gc', async () => {
    const result: GcResult = { dryRun, removed: [], inUse: [], kept: 0, bytesFreed: 0 };
    // Locks of processes that are gone (a pull killed with -9) go first (issue 13.7).
    if (!dryRun) await sweepStaleLocks(store);
    // Images in use by a live run, shell, module wrapper or Slurm step are never removed.
    const leased = async (): Promise<Set<string>> => {
      const leases = await readLeases(store.root, store.hostname);
      if (!dryRun) for (const dead of leases.filter((l) => !l.live)) await fs.rm(dead.file, { force: true });
      return new Set(leases.filter((l) => l.live).map((l) => l.digest));
    };
    const inUse = await leased();
    const drop: Drop = async (entry, remove) => {
      // An image is asked again once it is out of sight (removeRootfs), for leases taken since.
      if (!dryRun && (await remove()) === false) {
        result.inUse.push(entry);
        return false;
      }
      result.removed.push(entry);
      result.bytesFreed += entry.bytes;
      return true;
    };
    const stillLeased = (digest: string) => async () => (await leased()).has(digest);
    const cutoff = Date.now() - grace;

    const live = new Set<string>();
    for (const reg of await readRegistrations(store)) {
      if (reg.exists) {
        for (const d of reg.digests) live.add(d);
      } else {
        await drop({ kind: 'registration', path: reg.file, bytes: 0 }, () => fs.rm(reg.file, { force: true }));
      }
    }

    // A kept rootfs keeps the blobs it was built from (its meta lists them).
    for (const { digest, dir } of await listDigests(path.join(store.root, DIRS.rootfs), true)) {
      const meta = await readRootfsMeta(dir);
      // rename(2) keeps a directory's mtime, so the meta's unpackedAt says when it was published.
      const published = Math.max(await mtime(dir), Date.parse(meta?.unpackedAt ?? '') || 0);
      const young = published > cutoff;
      const keep = (): void => {
        result.kept += 1;
        for (const layer of meta?.layers ?? []) live.add(layer.digest);
        if (meta?.config !== undefined) live.add(meta.config);
      };
      if (live.has(digest) || young) {
        keep();
        continue;
      }
      const entry: GcEntry = { kind: 'rootfs', path: dir, digest, bytes: await treeBytes(dir) };
      if (inUse.has(digest)) {
        result.inUse.push(entry);
        keep();
      } else if (!(await drop(entry, () => removeRootfs(store, digest, stillLeased(digest))))) {
        keep();
      }
    }

    // A meta without its rootfs is what a crash between the two publishing renames leaves.
    for (const { digest, dir: file } of await listDigests(path.join(store.root, DIRS.rootfs), false)) {
      if (!file.endsWith('.json') || (await mtime(file)) > cutoff) continue;
      // lstat, not mtime: a sealed tree keeps its layer's mtime, which may well be 0 (1970).
      if (await fs.lstat(file.slice(0, -'.json'.length)).then(() => true, () => false)) continue;
      const bytes = (await fs.stat(file).catch(() => undefined))?.size ?? 0;
      await drop({ kind: 'rootfs', path: file, digest, bytes }, () => fs.rm(file, { force: true }));
    }

    const { collectSquashfs } = await import('./squashfs-gc.js');
    result.kept += await collectSquashfs(store, { live, inUse, stillLeased, result }, cutoff, drop);

    for (const { digest, dir: file } of await listDigests(path.join(store.root, DIRS.blobs), false)) {
      if (live.has(digest) || (await mtime(file)) > cutoff) {
        result.kept += 1;
        continue;
      }
      const bytes = (await fs.stat(file).catch(() => undefined))?.size ?? 0;
      await drop({ kind: 'blob', path: file, digest, bytes }, () => fs.rm(file, { force: true }));
    }

    await collectTmp(store, cutoff, drop);
    // prepared/ holds the prepared-run cache (core/enter/prepared-cache.ts): entries are cheap to
    // make again, so anything past the grace period goes, and with it entries for removed images.
    const prepared = path.join(store.root, 'prepared');
    for (const name of await fs.readdir(prepared).catch(() => [] as string[])) {
      const file = path.join(prepared, name);
      if ((await mtime(file)) > cutoff) continue;
      const bytes = (await fs.stat(file).catch(() => undefined))?.size ?? 0;
      await drop({ kind: 'tmp', path: file, bytes }, () => fs.rm(file, { force: true }));
    }
    return result;
  });
}

/** Entries named <hex> (or <hex>/ for rootfs) under <base>/<algorithm>/. */
async function listDigests(base: string, directories: boolean): Promise<{ digest: string; dir: string }[]> {
  const found: { digest: string; dir: string }[] = [];
  for (const algorithm of await fs.readdir(base).catch(() => [] as string[])) {
    const sub = path.join(base, algorithm);
    for (const entry of await fs.readdir(sub, { withFileTypes: true }).catch(() => [])) {
      const digest = `${algorithm}:${entry.name.replace(/\.json$/, '')}`;
      if (isDigest(digest) && entry.isDirectory() === directories) found.push({ digest, dir: path.join(sub, entry.name) });
    }
  }
  return found.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
}

/**
 * tmp/ holds partial downloads (<hex>.partial), image builds (rootfs-<hex>-<random>,
 * squashfs-<hex>-<random>.sqfs) and
 * removals in progress. One is abandoned when it is older than the grace period and its lock
 * can be taken at once (so its owner is gone).
 */
async function collectTmp(store: Store, cutoff: number, drop: Drop): Promise<void> {
  const tmp = store.dir('tmp');
  for (const name of (await fs.readdir(tmp).catch(() => [] as string[])).sort()) {
    const entry = path.join(tmp, name);
    if ((await mtime(entry)) > cutoff) continue;
    const lockName = ownerLock(name);
    let held: Awaited<ReturnType<typeof acquireLock>> | undefined;
    if (lockName !== undefined) {
      try {
        held = await acquireLock(store, lockName, { wait: false });
      } catch (error) {
        if (isEnvlockError(error) && error.code === 'STORE_LOCKED') continue;
        throw error;
      }
    }
    try {
      const bytes = await treeBytes(entry);
      await drop({ kind: 'tmp', path: entry, bytes }, () => removeTree(entry));
    } finally {
      await held?.release();
    }
  }
}

function ownerLock(name: string): string | undefined {
  const partial = /^(?:(sha512)-)?([a-f0-9]{64}|[a-f0-9]{128})\.partial$/.exec(name);
  if (partial !== null) return `blob-${partial[2]}`;
  const build = /^(rootfs|squashfs)-([a-f0-9]{64}|[a-f0-9]{128})-/.exec(name);
  if (build !== null) return `${build[1]}-${build[2]}`;
  return undefined;
}

async function mtime(p: string): Promise<number> {
  try {
    return (await fs.lstat(p)).mtimeMs;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return 0;
    throw error;
  }
}
