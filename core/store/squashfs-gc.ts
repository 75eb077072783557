// gc's part for squashfs images: an image that no registered lockfile uses and that is past the
// grace period goes, with its meta; a kept one keeps the blobs it was built from. A meta left
// without its image (a crash between the two publishing steps) goes once it is old.

import fs from 'node:fs/promises';
import type { GcEntry } from './gc.js';
import { listSquashfs, readSquashfsMeta, removeSquashfs } from './squashfs-store.js';
import type { Store } from './store.js';

export type Drop = (entry: GcEntry, remove: () => Promise<void>) => Promise<void>;

/** Returns how many images were kept; adds their blobs to `live`. */
export async function collectSquashfs(store: Store, live: Set<string>, cutoff: number, drop: Drop): Promise<number> {
  let kept = 0;
  for (const { digest, file, hasImage } of await listSquashfs(store.root)) {
    const meta = hasImage ? await readSquashfsMeta(file) : undefined;
    const metaFile = file.replace(/\.sqfs$/, '.json');
    if (!hasImage) {
      if ((await mtimeMs(metaFile)) > cutoff) continue;
      await drop({ kind: 'squashfs', path: metaFile, digest, bytes: await size(metaFile) }, () => fs.rm(metaFile, { force: true }));
      continue;
    }
    const published = Math.max(await mtimeMs(file), Date.parse(meta?.builtAt ?? '') || 0);
    if (live.has(digest) || published > cutoff) {
      kept += 1;
      for (const layer of meta?.layers ?? []) live.add(layer.digest);
      if (meta?.config !== undefined) live.add(meta.config);
      continue;
    }
    await drop({ kind: 'squashfs', path: file, digest, bytes: (await size(file)) + (await size(metaFile)) }, () => removeSquashfs(store, digest));
  }
  return kept;
}

async function mtimeMs(p: string): Promise<number> {
  return (await fs.lstat(p).catch(() => undefined))?.mtimeMs ?? 0;
}

async function size(p: string): Promise<number> {
  return (await fs.lstat(p).catch(() => undefined))?.size ?? 0;
}
