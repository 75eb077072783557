// What a module prepared in a tree that other users can read may name (issue 12.6): paths every
// user can reach. The preparing caller's own launcher, store or home would work for the caller
// and fail, or mean something else, for everyone else.

import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { EnvlockError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { ensureTrustedDir } from './trusted-dir.js';

/** Where a shared tree keeps the launcher its wrappers run, when the preparing caller's is private. */
export const TREE_LAUNCHER_DIR = '.envlock-launcher';

/**
 * Whether every user may reach `target`: each directory from / down to it searchable by others
 * (o+x), and `target` itself readable by others, and searchable (a directory) or executable
 * (`needX`) by them.
 */
export function reachableByAll(target: string, needX = false): boolean {
  const parts = path.resolve(target).split('/').filter((p) => p !== '');
  try {
    for (let i = 0; i < parts.length; i++) {
      if ((statSync(`/${parts.slice(0, i).join('/')}`).mode & 0o001) === 0) return false;
    }
    const st = statSync(target);
    return (st.mode & 0o004) !== 0 && (!(needX || st.isDirectory()) || (st.mode & 0o001) !== 0);
  } catch {
    return false;
  }
}

/**
 * The launcher path to write into wrappers of a shared tree: the caller's own when every user
 * can execute it (a site install, /opt/envlock), else a copy under ROOT/.envlock-launcher named
 * by its content (it is a static executable), made once per build.
 */
export async function sharedLauncher(treeRoot: string, launcherPath: string): Promise<string> {
  if (reachableByAll(launcherPath, true)) return launcherPath;
  const bytes = await fs.readFile(launcherPath);
  const dir = path.join(treeRoot, TREE_LAUNCHER_DIR);
  const copy = path.join(dir, `envlock-launch-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`);
  await ensureTrustedDir(dir);
  await writeFileAtomic(copy, bytes, { mode: 0o755, skipIfSame: true });
  await fs.chmod(copy, 0o755);
  return copy;
}

/** MODULE_TREE_INVALID when the image other users' wrappers would run lies where they cannot read it. */
export function assertImageShared(label: string, image: string, store: string): void {
  if (reachableByAll(image)) return;
  throw new EnvlockError('MODULE_TREE_INVALID', `The image of module ${label} lies in the store ${store}, which other users of the module tree cannot read.`, {
    hint: 'Pull it into a store every user can read (for example `ENVLOCK_STORE=/sw/envlock-store envlock pull`) and publish again, or publish into a tree only you read.',
    details: { image, store },
  });
}
