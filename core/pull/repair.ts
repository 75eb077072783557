// `pull --repair`: before pulling, drop from the writable store whatever of an image fails
// verification, so the pull that follows fetches and unpacks it again.

import fs from 'node:fs/promises';
import type { Reporter } from '../context.js';
import { shortDigest } from '../oci/digest.js';
import { removeRootfs } from '../store/rootfs-store.js';
import type { Store } from '../store/store.js';
import { verifyBlob, verifyRootfs } from '../store/verify.js';
import type { LockedImage } from '../../lockfiles/model.js';

/** Returns the digests removed. Damage in a read-only store is reported, never touched. */
export async function repairImage(store: Store, image: LockedImage, reporter: Reporter): Promise<string[]> {
  const removed: string[] = [];
  const rootfs = await verifyRootfs(store, image.manifest.digest);
  if (!rootfs.ok && rootfs.problem !== 'missing') {
    if (rootfs.readOnly) reporter.warn(`The rootfs ${shortDigest(image.manifest.digest)} in the read-only store ${rootfs.path} is damaged (${rootfs.problem}); ask its administrator to re-pull it.`);
    else {
      await removeRootfs(store, image.manifest.digest);
      removed.push(image.manifest.digest);
    }
  }
  for (const desc of [image.manifest, image.config, ...image.layers]) {
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
