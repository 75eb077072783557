// gc's part for squashfs images: an image that no registered lockfile uses, that is past the
// grace period and that no running entry holds a lease on goes, with its meta; a kept one keeps
// the blobs it was built from. A meta left
// without its image (a crash between the two publishing steps) goes once it is old.

import fs from 'node:fs/promises';
import type { Drop, GcEntry, GcResult } from './gc.js';
import { listSquashfs, readSquashfsMeta, removeSquashfs } from './squashfs-store.js';
import type { Store } from './store.js';

export interface Keeping {
  /** Digests a registered lockfile uses; kept images add their blobs. */
  live: Set<string>;
  /** Manifest digests with a live lease when gc started. */
  inUse: Set<string>;
  /** Asks the leases again for one digest, once its image is out of sight. */
  stillLeased: (digest: string) => () => Promise<boolean>;
  result: Pick<GcResult, 'inUse'>;
}

/** Returns how many images were kept; adds their blobs to `live`. */
export async function collectSquashfs(store: Store, keeping: Keeping, cutoff: number, drop: Drop): Promise<number> {
  const { live, inUse, stillLeased, result } = keeping;
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
    const keep = (): void => {
      kept += 1;
      for (const layer of meta?.layers ?? []) live.add(layer.digest);
      if (meta?.config !== undefined) live.add(meta.config);
    };
    if (live.has(digest) || published > cutoff) {
      keep();
      continue;
    }
    const entry: GcEntry = { kind: 'squashfs', path: file, digest, bytes: (await size(file)) + (await size(metaFile)) };
    if (inUse.has(digest)) {
      result.inUse.push(entry);
      keep();
    } else if (!(await drop(entry, () => removeSquashfs(store, digest, stillLeased(digest))))) {
      keep();
    }
  }
  return kept;
}

async function mtimeMs(p: string): Promise<number> {
  return (await fs.lstat(p).catch(() => undefined))?.mtimeMs ?? 0;
}

async function size(p: string): Promise<number> {
  return (await fs.lstat(p).catch(() => undefined))?.size ?? 0;
}
