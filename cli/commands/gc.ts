// `envlock gc`: remove from the writable store what no registered, still-existing lockfile uses.

import type { CommandSpec } from '../command-spec.js';
import { flag } from '../args.js';
import { EnvlockError } from '../../core/errors.js';
import { formatBytes } from '../output/plain-reporter.js';
import type { Env } from '../../core/context.js';
import type { GcResult } from '../../core/store/gc.js';

/** ENVLOCK_GC_GRACE_SECONDS: how young an entry must be to be kept regardless (default 600). */
function graceFrom(env: Env): { graceMs?: number } {
  const value = env.ENVLOCK_GC_GRACE_SECONDS;
  if (value === undefined || value === '') return {};
  if (!/^[0-9]+$/.test(value)) {
    throw new EnvlockError('CONFIG_INVALID', `ENVLOCK_GC_GRACE_SECONDS=${JSON.stringify(value)} is not a whole number of seconds.`, {
      hint: 'Set ENVLOCK_GC_GRACE_SECONDS to a whole number of seconds, such as 600, or unset it for the default.',
    });
  }
  return { graceMs: Number(value) * 1000 };
}

export const command: CommandSpec<GcResult> = {
  name: 'gc',
  summary: 'Remove blobs and root filesystems that no lockfile uses any more.',
  usage: 'envlock gc [--dry-run]',
  description: `
Every lockfile registers what it uses when it pulls (or when run pulls for it). gc removes
blobs, root filesystems and leftover temporary files that no registered lockfile still uses; a
lockfile that was deleted stops protecting its images. An image in use by a running envlock run,
shell, module wrapper or Slurm step is never removed: gc keeps it, says so, and removes it once
the job has ended. Work younger than ten minutes (ENVLOCK_GC_GRACE_SECONDS) is kept, so a pull
in progress is safe. Read-only stores (ENVLOCK_STORE_RO) are never touched.`,
  flags: [{ name: 'dry-run', type: 'boolean', description: 'Only list what would be removed.' }],
  positionals: [],
  async run(args, ctx) {
    const { Store } = await import('../../core/store/store.js');
    const { collectGarbage } = await import('../../core/store/gc.js');
    const result = await collectGarbage(Store.open(ctx), { dryRun: flag.bool(args, 'dry-run'), ...graceFrom(ctx.env) });
    const verb = result.dryRun ? 'Would remove' : 'Removed';
    const lines = result.removed.map((e) => `${result.dryRun ? 'would remove' : 'removed'} ${e.kind} ${e.digest ?? e.path} (${formatBytes(e.bytes)})`);
    for (const e of result.inUse) lines.push(`kept ${e.kind} ${e.digest ?? e.path} (${formatBytes(e.bytes)}): in use by a running job; gc removes it once that has ended`);
    return { result, text: `${lines.join('\n')}${lines.length ? '\n' : ''}${verb} ${result.removed.length} entries, ${formatBytes(result.bytesFreed)}; kept ${result.kept}.\n` };
  },
};
