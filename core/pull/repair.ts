// `pull --repair`: before pulling, drop from the writable store whatever of an image fails
// verification, so the pull that follows fetches and unpacks it again.

import fs from 'node:fs/promises';
import type { Reporter } from '../context.js';
import { shortDigest } from '../oci/digest.js';
import { removeRootfs } from '../store/rootfs-store.js';
import { removeSquashfs } from '../store/squashfs-store.js';
import type { Store } from '../store/store.js';
import { verifyBlob } from '../store/verify.js';
import { verifyImage } from '../store/verify-squashfs.js';
import type { LockedImage } from '../../lockfiles/model.js';

/** Returns the digests removed. Damage in a read-only store is reported, never touched. */
export async function repairImage(store: Store, image: LockedImage, reporter: Reporter): Promise<string[]> {
  const removed: string[] = [];
  for (const report of await verifyImage(store, image.manifest.digest)) {
    if (report.ok || report.problem === 'missing') continue;
    const what = report.kind === 'squashfs' ? 'squashfs image' : 'rootfs';
    if (report.readOnly) reporter.warn(`The ${what} ${shortDigest(image.manifest.digest)} in the read-only store ${report.path} is damaged (${report.problem}); ask its administrator to re-pull it.`);
    else {
      await (report.kind === 'squashfs' ? removeSquashfs : removeRootfs)(store, image.manifest.digest);
      if (!removed.includes(image.manifest.digest)) removed.push(image.manifest.digest);
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
