// What `envlock store info` shows: where the stores are, how much they hold, and how many bytes
// sharing blobs between images saves.

import fs from 'node:fs/promises';
import path from 'node:path';
import { isDigest } from '../oci/digest.js';
import { treeBytes } from './fs-util.js';
import { DIRS, readLayoutVersion } from './layout.js';
import { readRegistrations } from './registry.js';
import { readRootfsMeta } from './rootfs-store.js';
import { listSquashfs, readSquashfsMeta } from './squashfs-store.js';
import type { Store } from './store.js';

export interface StoreSummary {
  path: string;
  exists: boolean;
  layoutVersion: number | undefined;
  totalBytes: number;
  blobCount: number;
  blobBytes: number;
  rootfsCount: number;
  /** Images stored as squashfs files (docs/store.md); an image may be in both forms. */
  squashfsCount: number;
}

export interface StoreInfo extends StoreSummary {
  /** Lockfiles registered in the writable store (and how many of them still exist). */
  lockfiles: number;
  liveLockfiles: number;
  /** Sum over images of their layer/config sizes, minus the size of the unique blobs among them. */
  bytesSavedBySharing: number;
  readOnly: StoreSummary[];
}

export async function storeInfo(store: Store): Promise<StoreInfo> {
  const main = await summarise(store.root);
  const registrations = await readRegistrations(store);
  return {
    ...main,
    lockfiles: registrations.length,
    liveLockfiles: registrations.filter((r) => r.exists).length,
    bytesSavedBySharing: await sharingSavings(store.root),
    readOnly: await Promise.all(store.readOnly.map((root) => summarise(root))),
  };
}

async function summarise(root: string): Promise<StoreSummary> {
  const exists = await fs.stat(root).then((s) => s.isDirectory(), () => false);
  let layoutVersion: number | undefined;
  try {
    layoutVersion = readLayoutVersion(root);
  } catch {
    layoutVersion = undefined;
  }
  const blobs = await listEntries(path.join(root, DIRS.blobs), false);
  let blobBytes = 0;
  for (const file of blobs) blobBytes += (await fs.stat(file).catch(() => undefined))?.size ?? 0;
  const rootfs = await listEntries(path.join(root, DIRS.rootfs), true);
  const squashfs = (await listSquashfs(root)).filter((e) => e.hasImage);
  return {
    path: root,
    exists,
    layoutVersion,
    totalBytes: exists ? await treeBytes(root) : 0,
    blobCount: blobs.length,
    blobBytes,
    rootfsCount: rootfs.length,
    squashfsCount: squashfs.length,
  };
}

async function listEntries(base: string, directories: boolean): Promise<string[]> {
  const found: string[] = [];
  for (const algorithm of await fs.readdir(base).catch(() => [] as string[])) {
    const sub = path.join(base, algorithm);
    for (const entry of await fs.readdir(sub, { withFileTypes: true }).catch(() => [])) {
      if (isDigest(`${algorithm}:${entry.name}`) && entry.isDirectory() === directories) found.push(path.join(sub, entry.name));
    }
  }
  return found;
}

/**
 * Every image meta lists its blobs; a blob used by k images is stored once, saving (k-1)*size.
 * An image held in both forms counts once.
 */
async function sharingSavings(root: string): Promise<number> {
  const sizes = new Map<string, number>();
  const metas = new Map<string, { layers?: { digest: string; size: number }[] } | undefined>();
  for (const dir of await listEntries(path.join(root, DIRS.rootfs), true)) metas.set(path.basename(dir), await readRootfsMeta(dir));
  for (const entry of await listSquashfs(root)) {
    const hex = entry.digest.slice(entry.digest.indexOf(':') + 1);
    if (entry.hasImage && !metas.has(hex)) metas.set(hex, await readSquashfsMeta(entry.file));
  }
  let sum = 0;
  for (const meta of metas.values()) {
    for (const layer of meta?.layers ?? []) {
      sum += layer.size;
      sizes.set(layer.digest, layer.size);
    }
  }
  let unique = 0;
  for (const size of sizes.values()) unique += size;
  return sum - unique;
}
