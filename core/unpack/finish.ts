// The end of a layer: directory modes and mtimes applied children-first, without following
// symlinks, and the per-layer warnings summarised into a few readable lines.

import fs from 'node:fs';
import type { Sample, WriterNotes } from './entry-writer.js';
import type { RootfsWalker } from './rootfs-walker.js';
import type { LayerLabel } from './unpack-errors.js';
import { unsafePath } from './unpack-errors.js';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = fs.constants;

/**
 * Modes wait until every child is written, so a 0500 or 0000 directory in the archive never
 * blocks its own children; deepest first (containerd sets directory times in a final pass
 * too). Each directory is opened O_NOFOLLOW|O_DIRECTORY and changed through its descriptor,
 * after realpath(3) confirms no parent is a symlink (containerd CVE-2021-32760).
 */
export function finishDirectories(walker: RootfsWalker, label: LayerLabel): void {
  for (const { rel, pending } of walker.pendingDirs()) {
    const where = walker.abs(rel);
    if (fs.realpathSync.native(where) !== where) {
      throw unsafePath(label, rel, 'would have its mode set through a symbolic link');
    }
    const fd = fs.openSync(where, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    try {
      fs.fchmodSync(fd, pending.mode);
      if (pending.mtime !== undefined && !Number.isNaN(pending.mtime.getTime())) {
        fs.futimesSync(fd, pending.mtime, pending.mtime);
      }
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** A summary line and whether it is expected behaviour ('info') or a real problem ('warn'). */
export interface SummaryLine {
  level: 'info' | 'warn';
  text: string;
}

/**
 * One line per kind of thing skipped or changed, naming a few examples. Skipped devices and
 * dropped setuid bits happen on every Debian image by design, so they are 'info'.
 */
export function summarise(notes: WriterNotes, ignored: Sample): SummaryLine[] {
  const lines: SummaryLine[] = [];
  const info = (text: string): number => lines.push({ level: 'info', text });
  const warn = (text: string): number => lines.push({ level: 'warn', text });
  if (notes.devices.count > 0) {
    info(`Skipped ${count(notes.devices.count, 'device node or FIFO', 'device nodes and FIFOs')} (an unprivileged unpack cannot create them; the runtime provides /dev): ${examples(notes.devices)}.`);
  }
  if (notes.setId.count > 0) {
    info(`Dropped the setuid/setgid bit from ${count(notes.setId.count, 'file', 'files')} (they grant nothing in an unprivileged container): ${examples(notes.setId)}.`);
  }
  if (notes.auFsMeta.count > 0) {
    warn(`Ignored ${count(notes.auFsMeta.count, 'AUFS metadata entry', 'AUFS metadata entries')}: ${examples(notes.auFsMeta)}.`);
  }
  if (ignored.count > 0) {
    warn(`Skipped ${count(ignored.count, 'entry', 'entries')} of a type envlock does not unpack: ${examples(ignored)}.`);
  }
  return lines;
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function examples(sample: Sample): string {
  const shown = sample.examples.map((name) => JSON.stringify(name)).join(', ');
  return sample.count > sample.examples.length ? `${shown} and ${sample.count - sample.examples.length} more` : shown;
}
