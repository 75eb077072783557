// The last step of run and shell: stop the reporter and replace envlock with the launcher.

import type { Context } from '../context.js';
import { EnvlockError } from '../errors.js';
import type { LaunchSpec } from '../runtime/spec.js';

export async function enter(spec: LaunchSpec, argv: string[], ctx: Context, options: { debug?: boolean } = {}): Promise<never> {
  await ctx.reporter.close();
  const { launch } = await import('../runtime/launch.js');
  launch(spec, argv, ctx, { debug: options.debug ?? false });
  throw new EnvlockError('LAUNCH_FAILED', 'The launcher returned instead of replacing envlock.', { hint: 'Report this as a bug.' });
}
