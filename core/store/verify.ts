// Re-checks what the store holds against the digests it is named by: blobs are re-hashed, and a
// rootfs's tree digest is compared with the one recorded when it was unpacked.

import fs from 'node:fs/promises';
import { hashFile } from '../fs/hash-file.js';
import { assertDigest, digestParts } from '../oci/digest.js';
import { treeDigest } from '../unpack/tree-digest.js';
import { errnoCode } from '../errors.js';
import { findBlob } from './blob-store.js';
import { checkTree, readTreeRecords, type Unchecked } from './verify-tree.js';
import { findRootfs, readRootfsMeta } from './rootfs-store.js';
import { sampleChange } from './image-sample.js';
import type { Store } from './store.js';

export type Problem = 'missing' | 'digest-mismatch' | 'size-mismatch' | 'unreadable' | 'meta-missing' | 'tree-mismatch' | 'sample-changed';

export interface VerifyReport {
  kind: 'blob' | 'rootfs' | 'squashfs';
  digest: string;
  path: string | undefined;
  ok: boolean;
  problem?: Problem;
  expected?: string;
  actual?: string;
  /** Whether the damaged object is in a read-only store (only its admin can repair it). */
  readOnly: boolean;
  /** Entries this user cannot read, so not checked (verify-tree.ts); the rest was compared. */
  unchecked?: Unchecked[];
  /** Entries found to differ from what was recorded at pull time. */
  changed?: string[];
}

export type TreeDigestFn = (rootfs: string) => Promise<string>;

export interface VerifyOptions {
  /** Injected for tests; defaults to core/unpack/tree-digest.ts. */
  treeDigest?: TreeDigestFn;
}

export async function verifyBlob(store: Store, digest: string): Promise<VerifyReport> {
  assertDigest(digest, 'a blob');
  const file = findBlob(store, digest);
  const readOnly = file !== undefined && !file.startsWith(`${store.root}/`);
  if (file === undefined) return { kind: 'blob', digest, path: undefined, ok: false, problem: 'missing', readOnly: false };
  let actual: string;
  try {
    actual = await hashFile(file, digestParts(digest).algorithm);
  } catch {
    return { kind: 'blob', digest, path: file, ok: false, problem: 'unreadable', readOnly };
  }
  if (actual !== digest) return { kind: 'blob', digest, path: file, ok: false, problem: 'digest-mismatch', expected: digest, actual, readOnly };
  return { kind: 'blob', digest, path: file, ok: true, readOnly };
}

export async function verifyRootfs(store: Store, manifestDigest: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  assertDigest(manifestDigest, 'an image manifest');
  const dir = findRootfs(store, manifestDigest);
  const base = { kind: 'rootfs' as const, digest: manifestDigest };
  if (dir === undefined) return { ...base, path: undefined, ok: false, problem: 'missing', readOnly: false };
  const readOnly = !dir.startsWith(`${store.root}/`);
  const meta = await readRootfsMeta(dir);
  if (meta?.treeDigest === undefined) return { ...base, path: dir, ok: false, problem: 'meta-missing', readOnly };
  let actual: string;
  try {
    actual = await (options.treeDigest ?? treeDigest)(dir);
  } catch (error) {
    if (!DENIED.has(errnoCode(error) ?? '')) return { ...base, path: dir, ok: false, problem: 'unreadable', readOnly };
    return checkReadable(dir, manifestDigest, meta.treeDigest, readOnly);
  }
  if (actual !== meta.treeDigest) {
    // Name what changed, from the records kept at pull time, not only the rootfs (issue 13.3).
    const records = await readTreeRecords(`${dir}.tree.gz`, meta.treeDigest);
    const changed = records === undefined ? undefined : (await checkTree(dir, records)).changed;
    return { ...base, path: dir, ok: false, problem: 'tree-mismatch', expected: meta.treeDigest, actual, readOnly, ...(changed?.length ? { changed } : {}) };
  }
  // Same contents, but a sampled file's size or mtime differs from the record: run refuses it
  // (image-sample.ts), so verify says so too, naming the file.
  const sampled = sampleChange(dir, meta.sample);
  if (sampled !== undefined) return { ...base, path: dir, ok: false, problem: 'sample-changed', changed: [sampled], readOnly };
  return { ...base, path: dir, ok: true, readOnly };
}

const DENIED = new Set(['EACCES', 'EPERM']);

/**
 * For a user who cannot read all of a rootfs (a site store's /etc/shadow): every entry they can
 * reach is compared with the records kept at pull time; what they cannot read is named, not
 * called damage. Without the records (a rootfs pulled by an older envlock) nothing can be compared.
 */
async function checkReadable(dir: string, manifestDigest: string, recorded: string, readOnly: boolean): Promise<VerifyReport> {
  const base = { kind: 'rootfs' as const, digest: manifestDigest, path: dir, readOnly };
  const records = await readTreeRecords(`${dir}.tree.gz`, recorded);
  if (records === undefined) {
    return { ...base, ok: true, unchecked: [{ path: '.', reason: 'some of its files are not readable by you, and no per-file record was kept when it was pulled' }] };
  }
  const check = await checkTree(dir, records);
  if (check.changed.length > 0) return { ...base, ok: false, problem: 'tree-mismatch', expected: recorded, changed: check.changed, unchecked: check.unchecked };
  return { ...base, ok: true, unchecked: check.unchecked };
}

/** Verifies each named digest: as a rootfs when one exists for it, else as a blob. */
export async function verifyDigests(store: Store, digests: readonly string[], options: VerifyOptions = {}): Promise<VerifyReport[]> {
  const reports: VerifyReport[] = [];
  for (const digest of digests) {
    if (findRootfs(store, digest) !== undefined) reports.push(await verifyRootfs(store, digest, options));
    else reports.push(await verifyBlob(store, digest));
  }
  return reports;
}

/** Every blob in the writable store (used by `envlock verify --all`). */
export async function listBlobDigests(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const algorithm of await fs.readdir(`${root}/blobs`).catch(() => [] as string[])) {
    for (const hex of await fs.readdir(`${root}/blobs/${algorithm}`).catch(() => [] as string[])) out.push(`${algorithm}:${hex}`);
  }
  return out.filter((d) => /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/.test(d)).sort();
}
