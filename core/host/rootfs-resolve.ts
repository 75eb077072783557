// Resolves a path inside an unpacked image root the way the container will see it: symlinks
// (absolute or relative) are followed relative to the rootfs, and ".." stops at its root, so an
// image's link to /lib/... never reaches the host's /lib.

import fs from 'node:fs/promises';
import path from 'node:path';

/** Linux's own limit on symlinks followed in one lookup (path_resolution(7)). */
const MAX_LINKS = 40;

/**
 * The host location of `inner` (an absolute path in the image) after resolving every symlink
 * inside `rootfs`; undefined when a component is missing or the links loop.
 */
export async function resolveInRootfs(rootfs: string, inner: string): Promise<string | undefined> {
  const pending = inner.split('/').filter((p) => p !== '' && p !== '.');
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const here = path.join(rootfs, ...resolved, part);
    const stat = await fs.lstat(here).catch(() => undefined);
    if (stat === undefined) return undefined;
    if (!stat.isSymbolicLink()) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_LINKS) return undefined;
    const target = await fs.readlink(here);
    const targetParts = target.split('/').filter((p) => p !== '' && p !== '.');
    // An absolute target restarts at the image root; a relative one continues from the link's directory.
    if (target.startsWith('/')) resolved.length = 0;
    pending.unshift(...targetParts);
  }
  return path.join(rootfs, ...resolved);
}
