// Where modules of trees the caller cannot write are prepared: $XDG_CACHE_HOME/envlock/modules
// (XDG Base Directory spec: a relative XDG_CACHE_HOME is invalid and ignored).

import path from 'node:path';
import type { Context } from '../context.js';

export function moduleCacheDir(ctx: Pick<Context, 'env' | 'home'>): string {
  const xdg = ctx.env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(ctx.home, '.cache'), 'envlock', 'modules');
}
