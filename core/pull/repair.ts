// `pull --repair`: before pulling, drop from the writable store whatever of an image fails
// verification or is not what the lock names, so the pull that follows (with allBlobs) fetches
// and unpacks it again: afterwards every blob the image uses is present and verified, and its
// rootfs matches its recorded digest (docs/store.md "Repair").

import fs from 'node:fs/promises';
import type { Env, Reporter } from '../context.js';
import { findLockedImage } from '../enter/find-locked-image.js';
import { trustPolicy } from '../enter/store-trust.js';
import { shortDigest } from '../oci/digest.js';
import { removeRootfs } from '../store/rootfs-store.js';
import { removeSquashfs } from '../store/squashfs-store.js';
import type { Store } from '../store/store.js';
import { verifyBlob } from '../store/verify.js';
import { verifyImage } from '../store/verify-squashfs.js';
import type { Descriptor, LockedImage } from '../../lockfiles/model.js';

export interface RepairInput {
  store: Store;
  image: LockedImage;
  reporter: Reporter;
  env: Env;
  /**
   * Proves the lock agrees with its verified manifest (locked-manifest.ts), fetching the
   * manifest again if it was just removed. Called before any image is touched, so an edited
   * lock cannot make repair throw away a good image.
   */
  confirmLock: () => Promise<unknown>;
}

/** Removes the damaged ones among `descs` from the writable store; returns their digests. */
export async function removeDamagedBlobs(store: Store, descs: readonly Descriptor[], reporter: Reporter): Promise<string[]> {
  const removed: string[] = [];
  for (const desc of descs) {
    const blob = await verifyBlob(store, desc.digest);
    if (blob.ok || blob.problem === 'missing' || blob.path === undefined) continue;
    if (blob.readOnly) {
      reporter.warn(`The blob ${shortDigest(desc.digest)} in the read-only store is damaged; ask its administrator to re-pull it.`);
      continue;
    }
    await fs.rm(blob.path, { force: true });
    removed.push(desc.digest);
  }
  for (const digest of removed) reporter.info(`repair: removed damaged ${shortDigest(digest)}`);
  return removed;
}

/** Returns the digests removed. Damage in a read-only store is reported, never touched. */
export async function repairImage(input: RepairInput): Promise<string[]> {
  const { store, image, reporter } = input;
  const manifest = image.manifest.digest;
  const removed = await removeDamagedBlobs(store, [image.manifest, image.config, ...image.layers], reporter);
  await input.confirmLock();
  const remove = async (form: 'tree' | 'squashfs', why: string) => {
    await (form === 'squashfs' ? removeSquashfs : removeRootfs)(store, manifest);
    reporter.info(`repair: removed the ${form === 'squashfs' ? 'squashfs image' : 'rootfs'} ${shortDigest(manifest)} (${why})`);
    if (!removed.includes(manifest)) removed.push(manifest);
  };
  for (const report of await verifyImage(store, manifest)) {
    if (report.ok || report.problem === 'missing') continue;
    const what = report.kind === 'squashfs' ? 'squashfs image' : 'rootfs';
    if (report.readOnly) reporter.warn(`The ${what} ${shortDigest(manifest)} in the read-only store ${report.path} is damaged (${report.problem}); ask its administrator to re-pull it.`);
    else await remove(report.kind === 'squashfs' ? 'squashfs' : 'tree', report.problem ?? 'damaged');
  }
  // An entry whose meta names other layers than the (now confirmed) lock was built from
  // something else, one whose sampled files changed was altered: run refuses both, and repair
  // builds them again from the locked layers.
  for (const rejected of findLockedImage(store, image, trustPolicy(input.env)).rejected) {
    if (rejected.readOnly || rejected.kind === 'untrusted') continue;
    await remove(rejected.path.endsWith('.sqfs') ? 'squashfs' : 'tree', rejected.reason);
  }
  return removed;
}
