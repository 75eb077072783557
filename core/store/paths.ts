// Where the stores live: the one writable store and the site's read-only stores that are
// searched before it (XDG Base Directory spec for the default location).

import path from 'node:path';
import type { Context } from '../context.js';

export interface StoreRoots {
  /** The store envlock writes to. */
  writable: string;
  /** Read-only stores (e.g. a site store on the parallel filesystem), searched first, never written. */
  readOnly: string[];
}

/**
 * writable = --store, else ENVLOCK_STORE, else $XDG_DATA_HOME/envlock (default ~/.local/share/envlock);
 * readOnly = ENVLOCK_STORE_RO split on ':' like PATH, empty parts ignored.
 */
export function storeRoots(ctx: Pick<Context, 'storeOverride' | 'env' | 'home' | 'cwd'>): StoreRoots {
  const resolve = (p: string): string => path.resolve(ctx.cwd, p);
  const explicit = nonEmpty(ctx.storeOverride) ?? nonEmpty(ctx.env.ENVLOCK_STORE);
  let writable: string;
  if (explicit !== undefined) {
    writable = resolve(explicit);
  } else {
    // XDG: a relative XDG_DATA_HOME is invalid and must be ignored.
    const xdg = nonEmpty(ctx.env.XDG_DATA_HOME);
    const dataHome = xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(ctx.home, '.local', 'share');
    writable = path.join(dataHome, 'envlock');
  }
  const readOnly: string[] = [];
  for (const part of (ctx.env.ENVLOCK_STORE_RO ?? '').split(':')) {
    if (part === '') continue;
    const root = resolve(part);
    // The writable store is never also searched as read-only; duplicates are searched once.
    if (root !== writable && !readOnly.includes(root)) readOnly.push(root);
  }
  return { writable, readOnly };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
