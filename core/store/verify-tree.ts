// Checking a rootfs file by file, for a user who cannot read all of it (a Debian image's
// /etc/shadow in a site store): the records its tree digest was computed over are kept beside it
// (<hex>.tree.gz, authenticated by hashing them back to the recorded digest), so every entry the
// user can reach is compared, every one they cannot is named as not checked, and only what
// could be read and is wrong counts as damage.

import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { errnoCode } from '../errors.js';
import { hashFile } from '../fs/hash-file.js';

export interface Unchecked {
  /** Relative to the rootfs. */
  path: string;
  /** "permission denied", "directory not readable", … */
  reason: string;
}

export interface TreeCheck {
  /** Entries that differ from the records (changed, missing or added), first ones only. */
  changed: string[];
  unchecked: Unchecked[];
  /** How many entries were compared. */
  checked: number;
}

interface Entry {
  path: Buffer;
  type: string;
  mode: string;
  value: Buffer;
}

/** The records of `listFile` when they hash to `treeDigest`; undefined when absent or not authentic. */
export async function readTreeRecords(listFile: string, treeDigest: string): Promise<Entry[] | undefined> {
  let bytes: Buffer;
  try {
    bytes = gunzipSync(await fs.readFile(listFile));
  } catch {
    return undefined;
  }
  if (`sha256:${createHash('sha256').update(bytes).digest('hex')}` !== treeDigest) return undefined;
  const entries: Entry[] = [];
  let at = 0;
  const field = (): Buffer => {
    const end = bytes.indexOf(0, at);
    const value = bytes.subarray(at, end === -1 ? bytes.length : end);
    at = end === -1 ? bytes.length : end + 1;
    return value;
  };
  while (at < bytes.length) entries.push({ path: field(), type: field().toString(), mode: field().toString(), value: field() });
  return entries;
}

const DENIED = new Set(['EACCES', 'EPERM']);
const LIMIT = 20;

/** Compares what can be read of `rootfs` with its records. */
export async function checkTree(rootfs: string, entries: readonly Entry[]): Promise<TreeCheck> {
  const result: TreeCheck = { changed: [], unchecked: [], checked: 0 };
  const differs = (p: string) => {
    if (result.changed.length < LIMIT) result.changed.push(p);
  };
  const expected = new Map<string, Set<string>>();
  for (const entry of entries) {
    const rel = entry.path.toString('utf8');
    const parent = path.posix.dirname(rel);
    expected.set(parent, (expected.get(parent) ?? new Set()).add(path.posix.basename(rel)));
  }
  for (const entry of entries) {
    const rel = entry.path.toString('utf8');
    // Names are UTF-8 (layers with other names are refused at pull, docs/security.md).
    const abs = path.join(rootfs, rel);
    let stat;
    try {
      stat = await fs.lstat(abs);
    } catch (error) {
      if (DENIED.has(errnoCode(error) ?? '')) result.unchecked.push({ path: rel, reason: 'a directory above it cannot be searched (permission denied)' });
      else differs(rel);
      continue;
    }
    const type = stat.isDirectory() ? 'd' : stat.isFile() ? 'f' : stat.isSymbolicLink() ? 'l' : 'o';
    if (type !== entry.type || (stat.mode & 0o7777).toString(8).padStart(4, '0') !== entry.mode) {
      differs(rel);
      continue;
    }
    if (type === 'f') {
      try {
        if ((await hashFile(abs, 'sha256', { noFollow: true })).slice('sha256:'.length) !== entry.value.toString()) differs(rel);
      } catch (error) {
        if (!DENIED.has(errnoCode(error) ?? '')) throw error;
        result.unchecked.push({ path: rel, reason: 'permission denied' });
        continue;
      }
    } else if (type === 'l') {
      if (!(await fs.readlink(abs, { encoding: 'buffer' })).equals(entry.value)) differs(rel);
    } else if (type === 'd') {
      // Entries added to a directory show up only in its listing.
      try {
        const names = await fs.readdir(abs, { encoding: 'buffer' });
        const known = expected.get(rel) ?? new Set<string>();
        for (const name of names) if (!known.has(name.toString('utf8'))) differs(path.posix.join(rel, name.toString('utf8')));
      } catch (error) {
        if (!DENIED.has(errnoCode(error) ?? '')) throw error;
        result.unchecked.push({ path: `${rel}/`, reason: 'its listing cannot be read (permission denied)' });
      }
    }
    result.checked += 1;
  }
  // The root's own listing: entries added at the top.
  const top = expected.get('.') ?? new Set<string>();
  for (const name of await fs.readdir(rootfs, { encoding: 'buffer' }).catch(() => [] as Buffer[])) {
    if (!top.has(name.toString('utf8'))) differs(name.toString('utf8'));
  }
  return result;
}
