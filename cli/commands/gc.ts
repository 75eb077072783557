// `envlock gc`: remove from the writable store what no registered, still-existing lockfile uses.

import type { CommandSpec } from '../command-spec.js';
import { flag } from '../args.js';
import { formatBytes } from '../output/plain-reporter.js';
import type { GcResult } from '../../core/store/gc.js';

export const command: CommandSpec<GcResult> = {
  name: 'gc',
  summary: 'Remove blobs and root filesystems that no lockfile uses any more.',
  usage: 'envlock gc [--dry-run]',
  description: `
Every lockfile registers what it uses when it pulls. gc removes blobs, root filesystems and
leftover temporary files that no registered lockfile still uses; a lockfile that was deleted stops
protecting its images. Work younger than ten minutes is kept, so a pull in progress is safe.
Read-only stores (ENVLOCK_STORE_RO) are never touched.`,
  flags: [{ name: 'dry-run', type: 'boolean', description: 'Only list what would be removed.' }],
  positionals: [],
  async run(args, ctx) {
    const { Store } = await import('../../core/store/store.js');
    const { collectGarbage } = await import('../../core/store/gc.js');
    const result = await collectGarbage(Store.open(ctx), { dryRun: flag.bool(args, 'dry-run') });
    const verb = result.dryRun ? 'Would remove' : 'Removed';
    const lines = result.removed.map((e) => `${result.dryRun ? 'would remove' : 'removed'} ${e.kind} ${e.digest ?? e.path} (${formatBytes(e.bytes)})`);
    return { result, text: `${lines.join('\n')}${lines.length ? '\n' : ''}${verb} ${result.removed.length} entries, ${formatBytes(result.bytesFreed)}; kept ${result.kept}.\n` };
  },
};
