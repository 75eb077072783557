// Whether a read-only store may be trusted (issue 12.7): nothing on the way to an image, from /
// down to the image and its meta record, may be writable by anyone but root, the caller, or an
// owner the caller names in ENVLOCK_TRUSTED_UIDS (a site's software account). Otherwise another
// user could swap the image under a genuine digest, and envlock would run it. What is inside a
// sealed image is checked by `envlock verify`, not at every start (docs/security.md).

import { lstatSync, realpathSync, type Stats } from 'node:fs';
import path from 'node:path';
import type { Env } from '../context.js';

export interface TrustPolicy {
  /** Owners whose files are trusted: root, the caller, and ENVLOCK_TRUSTED_UIDS. */
  uids: ReadonlySet<number>;
}

export function trustPolicy(env: Env): TrustPolicy {
  const uids = new Set<number>([0]);
  const self = process.getuid?.();
  if (self !== undefined) uids.add(self);
  for (const part of (env.ENVLOCK_TRUSTED_UIDS ?? '').split(',')) {
    if (/^\d+$/.test(part.trim())) uids.add(Number(part.trim()));
  }
  return { uids };
}

const STICKY = 0o1000;

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

function problem(file: string, st: Stats, policy: TrustPolicy): string | undefined {
  if (st.isSymbolicLink()) return `${file} is a symbolic link, which a store made by envlock never holds there`;
  if (!policy.uids.has(st.uid)) return `${file} belongs to uid ${st.uid}, who is neither root nor you (set ENVLOCK_TRUSTED_UIDS to trust a site account)`;
  // A sticky directory writable by others (like /tmp) lets them add entries but not replace
  // those of a trusted owner, so the check goes on below it.
  if ((st.mode & 0o022) !== 0 && !(st.isDirectory() && (st.mode & STICKY) !== 0)) {
    return `${file} is writable by ${(st.mode & 0o020) !== 0 ? 'its group' : 'other users'} (mode ${octal(st.mode)})`;
  }
  return undefined;
}

/**
 * Why `target` (an image or its meta, inside `storeRoot`) must not be trusted, or undefined when
 * every directory from / down to it, and it itself, passes. Symbolic links on the way are
 * resolved first (the link's own mode means nothing), so the check is of the real path.
 */
export function untrustedReason(storeRoot: string, targets: readonly string[], policy: TrustPolicy): string | undefined {
  let realRoot: string;
  try {
    realRoot = realpathSync(storeRoot);
  } catch (error) {
    return `${storeRoot} cannot be resolved (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
  }
  const checked = new Set<string>();
  const check = (file: string): string | undefined => {
    if (checked.has(file)) return undefined;
    checked.add(file);
    let st: Stats;
    try {
      st = lstatSync(file);
    } catch (error) {
      return `${file} cannot be examined (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
    }
    return problem(file, st, policy);
  };
  const parts = realRoot.split('/').filter((p) => p !== '');
  for (let i = 0; i <= parts.length; i++) {
    const reason = check(`/${parts.slice(0, i).join('/')}`);
    if (reason !== undefined) return reason;
  }
  for (const target of targets) {
    const relative = path.relative(storeRoot, target);
    if (relative.startsWith('..') || path.isAbsolute(relative)) return `${target} is outside the store ${storeRoot}`;
    let current = realRoot;
    for (const part of relative.split(path.sep)) {
      current = path.join(current, part);
      const reason = check(current);
      if (reason !== undefined) return reason;
    }
  }
  return undefined;
}
