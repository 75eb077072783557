// The cheap check of a tree image at every start (issue 13.3; docs/store.md "What run checks"):
// when a rootfs is built, the size and mtime (whole seconds) of a few of its files, the largest
// ones every user can reach, are recorded in its meta; run, shell and the prepared-run cache
// lstat(2) just those before entering. A truncated, replaced or rewritten sampled file is caught
// for a few stat calls; `envlock verify` re-hashes everything and names what changed.

import { lstatSync, type Stats } from 'node:fs';
import path from 'node:path';
import type { ImageNode } from '../unpack/image-sink.js';

export interface SampledFile {
  /** Relative to the rootfs. */
  path: string;
  size: number;
  /** mtime in whole seconds: a store copied with `cp -a`/`rsync -a` to a filesystem with coarser
   * timestamps (Lustre keeps seconds) still matches. */
  mtime: number;
}

/** How many files are sampled: each costs one lstat(2) at every start. */
export const SAMPLE_FILES = 8;

const SEARCHABLE_BY_ALL = 0o001;

/** The largest regular files under directories everyone may search, largest first (ties by path). */
function largestFiles(root: ImageNode): { path: string; size: number }[] {
  const best: { path: string; size: number }[] = [];
  const consider = (file: string, size: number) => {
    if (best.length === SAMPLE_FILES && size <= best[best.length - 1]!.size) return;
    best.push({ path: file, size });
    best.sort((a, b) => b.size - a.size || (a.path < b.path ? -1 : 1));
    if (best.length > SAMPLE_FILES) best.pop();
  };
  const walk = (dir: ImageNode, prefix: string) => {
    for (const [name, node] of dir.children ?? []) {
      const file = prefix === '' ? name : `${prefix}/${name}`;
      if (node.kind === 'file') consider(file, node.size);
      else if (node.kind === 'dir' && (node.mode & SEARCHABLE_BY_ALL) !== 0) walk(node, file);
    }
  };
  if ((root.mode & SEARCHABLE_BY_ALL) !== 0) walk(root, '');
  return best;
}

/** The sample of a finished tree in `dir` (stat'ed there, so it holds what the filesystem keeps). */
export function pickSample(root: ImageNode, dir: string): SampledFile[] {
  return largestFiles(root).map(({ path: file }) => {
    const st = lstatSync(path.join(dir, file));
    return { path: file, size: st.size, mtime: Math.floor(st.mtimeMs / 1000) };
  });
}

function isSampled(value: unknown): value is SampledFile {
  const v = value as Partial<SampledFile> | undefined;
  return typeof v?.path === 'string' && typeof v.size === 'number' && typeof v.mtime === 'number' && v.path !== '' && !v.path.startsWith('/') && !v.path.split('/').includes('..');
}

/** How the sampled files of `rootfs` differ from `sample` (a meta's record), in words; undefined when they do not. */
export function sampleChange(rootfs: string, sample: unknown, stat: (file: string) => Stats = lstatSync): string | undefined {
  if (!Array.isArray(sample)) return undefined;
  for (const entry of sample) {
    if (!isSampled(entry)) return 'its meta record has a malformed file sample';
    let st: Stats;
    try {
      // Concatenated, not path.join: the kernel reads "a//b" and "a/./b" as "a/b" anyway, and
      // isSampled has refused ".." and absolute paths (this runs at every start).
      st = stat(`${rootfs}/${entry.path}`);
    } catch (error) {
      // What this user cannot reach is not checked here (verify names it); what is gone is damage.
      if ((error as NodeJS.ErrnoException).code === 'EACCES') continue;
      return `/${entry.path} is missing`;
    }
    if (!st.isFile()) return `/${entry.path} is no longer a regular file`;
    if (st.size !== entry.size) return `/${entry.path} is ${st.size} bytes, but was ${entry.size} when pulled`;
    if (Math.floor(st.mtimeMs / 1000) !== entry.mtime) return `/${entry.path} was modified at ${new Date(st.mtimeMs).toISOString()}, after it was pulled`;
  }
  return undefined;
}
