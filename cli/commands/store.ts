// `envlock store`: where the store is, how big, what it holds, and what sharing saves.

import type { CommandSpec } from '../command-spec.js';
import { formatBytes } from '../output/plain-reporter.js';
import { renderTable } from '../output/table.js';
import type { StoreInfo } from '../../core/store/info.js';

export const command: CommandSpec<StoreInfo> = {
  name: 'store',
  summary: 'Show the store: location, size, images (trees and squashfs files), and what shared blobs save.',
  usage: 'envlock store',
  flags: [],
  positionals: [],
  async run(_args, ctx) {
    const { Store } = await import('../../core/store/store.js');
    const { storeInfo } = await import('../../core/store/info.js');
    const info = await storeInfo(Store.open(ctx));
    const rows = [info, ...info.readOnly].map((s, i) => [i === 0 ? 'writable' : 'read-only', s.path, s.exists ? formatBytes(s.totalBytes) : 'absent', String(s.blobCount), String(s.rootfsCount), String(s.squashfsCount)]);
    const text = `${renderTable(['STORE', 'PATH', 'SIZE', 'BLOBS', 'ROOTFS', 'SQUASHFS'], rows)}Lockfiles registered: ${info.lockfiles} (${info.liveLockfiles} still exist). Saved by sharing blobs: ${formatBytes(info.bytesSavedBySharing)}.\n`;
    return { result: info, text };
  },
};
