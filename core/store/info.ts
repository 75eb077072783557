// What `envlock store info` shows: where the stores are, how much they hold, and how many bytes
// sharing blobs between images saves.

import fs from 'node:fs/promises';
import path from 'node:path';
import { isDigest } from '../oci/digest.js';
import { treeBytes } from './fs-util.js';
import { DIRS, readLayoutVersion } from './layout.js';
import { readRegistrations } from './registry.js';
import { readRootfsMeta } from './rootfs-store.js';
import type { Store } from './store.js';

export interface StoreSummary {
  path: string;
  exists: boolean;
  layoutVersion: number | undefined;
  totalBytes: number;
  blobCount: number;
  blobBytes: number;
  rootfsCount: number;
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
  return {
    path: root,
    exists,
    layoutVersion,
    totalBytes: exists ? await treeBytes(root) : 0,
    blobCount: blobs.length,
    blobBytes,
    rootfsCount: rootfs.length,
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

/** Every rootfs meta lists its blobs; a blob used by k images is stored once, saving (k-1)*size. */
async function sharingSavings(root: string): Promise<number> {
  const sizes = new Map<string, number>();
  let sum = 0;
  for (const dir of await listEntries(path.join(root, DIRS.rootfs), true)) {
    const meta = await readRootfsMeta(dir);
    for (const layer of meta?.layers ?? []) {
      sum += layer.size;
      sizes.set(layer.digest, layer.size);
    }
  }
  let unique = 0;
  for (const size of sizes.values()) unique += size;
  return sum - unique;
}
