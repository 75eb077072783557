// envlock's per-user cache directory, where the fast paths keep what they answer from (answer
// records, compiled code): $XDG_CACHE_HOME/envlock, else ~/.cache/envlock. A relative
// XDG_CACHE_HOME is invalid (XDG Base Directory spec) and ignored.

import path from 'node:path';
import type { Env } from './types.js';

export function envlockCacheDir(env: Env, home: string): string {
  const xdg = env.XDG_CACHE_HOME;
  return xdg !== undefined && path.isAbsolute(xdg) ? path.join(xdg, 'envlock') : path.join(home, '.cache', 'envlock');
}
