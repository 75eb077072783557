// `envlock verify` for squashfs images: the file's size and sha256 are compared with what was
// recorded when it was built. The digest covers every byte of the image (tables and data), so a
// truncated, altered or swapped file is found without mounting it.

import fs from 'node:fs/promises';
import { hashFile } from '../fs/hash-file.js';
import { assertDigest } from '../oci/digest.js';
import { findImage } from './find.js';
import { readSquashfsMeta } from './squashfs-store.js';
import type { Store } from './store.js';
import type { VerifyReport } from './verify.js';

export async function verifySquashfs(store: Store, manifestDigest: string): Promise<VerifyReport> {
  assertDigest(manifestDigest, 'an image manifest');
  const found = findImage(store, manifestDigest, { forms: ['squashfs'] });
  const base = { kind: 'squashfs' as const, digest: manifestDigest };
  if (found === undefined) return { ...base, path: undefined, ok: false, problem: 'missing', readOnly: false };
  const at = { ...base, path: found.path, readOnly: found.readOnly };
  const meta = await readSquashfsMeta(found.path);
  if (meta?.file?.digest === undefined) return { ...at, ok: false, problem: 'meta-missing' };
  let size: number;
  let actual: string;
  try {
    size = (await fs.stat(found.path)).size;
    if (size !== meta.file.size) return { ...at, ok: false, problem: 'size-mismatch', expected: `${meta.file.size} bytes`, actual: `${size} bytes` };
    actual = await hashFile(found.path, 'sha256', { noFollow: true });
  } catch {
    return { ...at, ok: false, problem: 'unreadable' };
  }
  if (actual !== meta.file.digest) return { ...at, ok: false, problem: 'digest-mismatch', expected: meta.file.digest, actual };
  return { ...at, ok: true };
}

/** Reports for each form of the image the stores hold (a store may hold both); [] when none. */
export async function verifyImage(store: Store, manifestDigest: string): Promise<VerifyReport[]> {
  const reports: VerifyReport[] = [];
  if (findImage(store, manifestDigest, { forms: ['tree'] }) !== undefined) {
    const { verifyRootfs } = await import('./verify.js');
    reports.push(await verifyRootfs(store, manifestDigest));
  }
  if (findImage(store, manifestDigest, { forms: ['squashfs'] }) !== undefined) reports.push(await verifySquashfs(store, manifestDigest));
  return reports;
}
