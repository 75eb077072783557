// A copied bundle made to be another version of envlock, as after an upgrade: the bundler writes
// the version into the bundle (core/version.ts), so a copy becomes another version only when that
// stamp changes, as it does in a rebuilt release.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Rewrites the version stamped into every file of `bundleDir` from `from` to `to`; returns how many files changed. */
export function restampBundleVersion(bundleDir: string, from: string, to: string): number {
  let changed = 0;
  for (const entry of readdirSync(bundleDir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !/\.m?js$/.test(entry.name)) continue;
    const file = join(entry.parentPath, entry.name);
    const text = readFileSync(file, 'utf8');
    // Spaced or not: the run path's bundle is compacted (scripts/bundle.mjs).
    const stamp = new RegExp(`(STAMPED\\s*=\\s*)${JSON.stringify(from).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=[;,])`, 'g');
    if (!stamp.test(text)) continue;
    writeFileSync(file, text.replace(stamp, `$1${JSON.stringify(to)}`));
    changed++;
  }
  if (changed === 0) throw new Error(`no file in ${bundleDir} has envlock's version ${from} stamped in it`);
  return changed;
}
