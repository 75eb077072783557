// The directories of a module tree that envlock writes into or removes from (NAME, VERSION,
// .envlock, .envlock-index.d), often as root for a whole group (issue 12.6). Each must be a real
// directory that only root or the caller can change: a symlink planted there, or a directory
// another user could swap entries in, would send root's writes and removals anywhere.

import fs from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { EnvlockError, errnoCode } from '../errors.js';

const STICKY = 0o1000;

function untrusted(dir: string, st: Stats): string | undefined {
  if (st.isSymbolicLink()) return `${dir} is a symbolic link`;
  if (!st.isDirectory()) return `${dir} is not a directory`;
  const self = process.geteuid?.() ?? 0;
  if (st.uid !== 0 && st.uid !== self) return `${dir} belongs to uid ${st.uid}, who could change what envlock writes there`;
  if ((st.mode & 0o022) !== 0 && (st.mode & STICKY) === 0) {
    return `${dir} is writable by ${(st.mode & 0o020) !== 0 ? 'its group' : 'other users'} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}), who could swap its entries`;
  }
  return undefined;
}

/**
 * Makes `dir` (never through a symlink: mkdir(2) does not follow one at the last component) or
 * checks the one there with lstat(2). MODULE_TREE_INVALID names what is wrong; a directory that
 * cannot be made (EACCES, ENOENT) is thrown as the raw errno error for the caller to word.
 */
export async function ensureTrustedDir(dir: string, mode = 0o755): Promise<void> {
  try {
    await fs.mkdir(dir, { mode });
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw error;
  }
  const reason = untrusted(dir, await fs.lstat(dir));
  if (reason !== undefined) {
    throw new EnvlockError('MODULE_TREE_INVALID', `envlock does not write into ${dir}: ${reason}.`, {
      hint: `Remove ${dir} (envlock makes it again), or publish as its owner; a group-writable module tree should be sticky (\`chmod +t\`).`,
      details: { dir },
    });
  }
}
