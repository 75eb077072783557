// The on-disk layout of a store (docs/store.md) and its version file, so a future layout
// change is detected instead of misread.

import fs from 'node:fs';
import path from 'node:path';
import { EnvlockError } from '../errors.js';
import { assertDigest, digestParts } from '../oci/digest.js';

/** Bumped whenever the meaning of a path under the store changes. */
export const LAYOUT_VERSION = 1;
export const LAYOUT_FILE = 'layout-version';

export const DIRS = {
  blobs: 'blobs',
  rootfs: 'rootfs',
  squashfs: 'squashfs',
  lockfiles: 'lockfiles',
  tmp: 'tmp',
  locks: 'locks',
} as const;

/** blobs/<algorithm>/<hex>; the digest is validated before it becomes a path (CVE-2024-3727). */
export function blobPathIn(root: string, digest: string): string {
  const { algorithm, hex } = digestParts(assertDigest(digest, 'a blob'));
  return path.join(root, DIRS.blobs, algorithm, hex);
}

/** rootfs/<algorithm>/<hex>/, the unpacked root filesystem of one image manifest. */
export function rootfsPathIn(root: string, manifestDigest: string): string {
  const { algorithm, hex } = digestParts(assertDigest(manifestDigest, 'an image manifest'));
  return path.join(root, DIRS.rootfs, algorithm, hex);
}

/** rootfs/<algorithm>/<hex>.json, what the rootfs was made from. */
export function rootfsMetaPathIn(root: string, manifestDigest: string): string {
  return `${rootfsPathIn(root, manifestDigest)}.json`;
}

/**
 * rootfs/<algorithm>/<hex>.tree.gz: the records the rootfs's tree digest was computed over
 * (docs/security.md "Tree digest"), so verify can check file by file what a user can read.
 */
export function rootfsTreeListPathIn(root: string, manifestDigest: string): string {
  return `${rootfsPathIn(root, manifestDigest)}.tree.gz`;
}

/** squashfs/<algorithm>/<hex>.sqfs, the image of one manifest as one squashfs file. */
export function squashfsPathIn(root: string, manifestDigest: string): string {
  const { algorithm, hex } = digestParts(assertDigest(manifestDigest, 'an image manifest'));
  return path.join(root, DIRS.squashfs, algorithm, `${hex}.sqfs`);
}

/** squashfs/<algorithm>/<hex>.json, what the squashfs file was made from and its own digest. */
export function squashfsMetaPathIn(root: string, manifestDigest: string): string {
  return squashfsPathIn(root, manifestDigest).replace(/\.sqfs$/, '.json');
}

/**
 * Reads a store's layout version: undefined when the store does not exist yet or has no
 * version file (an empty store); throws when the store was written by a newer layout.
 */
export function readLayoutVersion(root: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(root, LAYOUT_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const version = Number.parseInt(text.trim(), 10);
  if (!Number.isSafeInteger(version) || version !== LAYOUT_VERSION) {
    throw new EnvlockError('STORE_LAYOUT_UNSUPPORTED', `The store at ${root} has layout version ${JSON.stringify(text.trim())}, but this envlock reads only version ${LAYOUT_VERSION}.`, {
      hint: 'Use the envlock release that created this store, or point --store / ENVLOCK_STORE at another directory.',
      details: { store: root, found: text.trim(), supported: LAYOUT_VERSION },
    });
  }
  return version;
}
