// Finding a verified blob or a complete rootfs across the stores (read-only ones first). Kept
// apart from ingestion and unpacking so a warm run loads nothing heavier than stat(2).

import { statSync } from 'node:fs';
import { assertDigest } from '../oci/digest.js';
import { blobPathIn, rootfsPathIn } from './layout.js';
import type { Store } from './store.js';

/** The verified blob's path, read-only stores first; undefined when no store has it. */
export function findBlob(store: Store, digest: string): string | undefined {
  assertDigest(digest, 'a blob');
  for (const root of store.searchRoots()) {
    const candidate = blobPathIn(root, digest);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this store
    }
  }
  return undefined;
}

/** The rootfs path, read-only stores first; undefined when no store has a complete one. */
export function findRootfs(store: Store, manifestDigest: string): string | undefined {
  assertDigest(manifestDigest, 'an image manifest');
  for (const root of store.searchRoots()) {
    const candidate = rootfsPathIn(root, manifestDigest);
    try {
      if (statSync(candidate).isDirectory()) return candidate;
    } catch {
      // not in this store
    }
  }
  return undefined;
}

