// Finding a verified blob or a complete image across the stores (read-only ones first). Kept
// apart from ingestion and unpacking so a warm run loads nothing heavier than stat(2).

import { statSync, type Stats } from 'node:fs';
import { assertDigest } from '../oci/digest.js';
import { blobPathIn, rootfsPathIn, squashfsPathIn } from './layout.js';
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


/** The two forms an image takes in a store (docs/store.md). */
export type ImageForm = 'tree' | 'squashfs';

export interface FoundImage {
  form: ImageForm;
  /** The rootfs directory (tree) or the .sqfs file (squashfs); its meta is beside it (.json). */
  path: string;
  /** The root of the store that holds it. */
  store: string;
  /** Whether that store is one of the read-only ones. */
  readOnly: boolean;
}

export interface FindImageOptions {
  /** The forms acceptable here, in order of preference within one store (default squashfs, tree). */
  forms?: readonly ImageForm[];
  /**
   * Whether an entry that exists may be used; a refused one is passed over and the search goes
   * on (launchpath's lookup checks the meta record against the lock and the store's trust).
   */
  accept?: (found: FoundImage, stat: Stats) => boolean;
}

const DEFAULT_FORMS: readonly ImageForm[] = ['squashfs', 'tree'];

/**
 * The one lookup for "where is the image of manifest M" (round-2 Decision 2): read-only stores
 * first, then the writable one; in each, the forms in the order asked. A squashfs file is
 * visible only once complete (it is renamed into place), like a rootfs directory.
 */
export function findImage(store: Store, manifestDigest: string, options: FindImageOptions = {}): FoundImage | undefined {
  assertDigest(manifestDigest, 'an image manifest');
  const forms = options.forms ?? DEFAULT_FORMS;
  for (const root of store.searchRoots()) {
    for (const form of forms) {
      const candidate = form === 'tree' ? rootfsPathIn(root, manifestDigest) : squashfsPathIn(root, manifestDigest);
      try {
        const stat = statSync(candidate);
        if (!(form === 'tree' ? stat.isDirectory() : stat.isFile())) continue;
        const found: FoundImage = { form, path: candidate, store: root, readOnly: root !== store.root };
        if (options.accept === undefined || options.accept(found, stat)) return found;
      } catch {
        // not in this store in this form
      }
    }
  }
  return undefined;
}
