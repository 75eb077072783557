// The end of a layer: what was skipped or changed, summarised into a few readable lines, each
// either expected behaviour ('info') or a real problem ('warn').

import type { LayerNotes, Sample } from './image-applier.js';

export interface SummaryLine {
  level: 'info' | 'warn';
  text: string;
}

/**
 * One line per kind of thing skipped or changed, naming a few examples. Skipped devices,
 * dropped setuid bits and ignored extended attributes happen on ordinary distribution images
 * by design, so they are 'info'; AUFS leftovers and unknown entry types are warnings.
 */
export function summarise(notes: LayerNotes): SummaryLine[] {
  const lines: SummaryLine[] = [];
  const info = (text: string): number => lines.push({ level: 'info', text });
  const warn = (text: string): number => lines.push({ level: 'warn', text });
  if (notes.devices.count > 0) {
    info(`Skipped ${count(notes.devices.count, 'device node or FIFO', 'device nodes and FIFOs')} (an unprivileged unpack cannot create them; the runtime provides /dev): ${examples(notes.devices)}.`);
  }
  if (notes.setId.count > 0) {
    info(`Dropped the setuid/setgid bit from ${count(notes.setId.count, 'file', 'files')} (they grant nothing in an unprivileged container): ${examples(notes.setId)}.`);
  }
  if (notes.xattrs.count > 0) {
    info(`Ignored the extended attributes (file capabilities, SELinux labels, overlay markers) of ${count(notes.xattrs.count, 'entry', 'entries')}: ${examples(notes.xattrs)}.`);
  }
  if (notes.auFsMeta.count > 0) {
    warn(`Ignored ${count(notes.auFsMeta.count, 'AUFS metadata entry', 'AUFS metadata entries')}: ${examples(notes.auFsMeta)}.`);
  }
  if (notes.ignored.count > 0) {
    warn(`Skipped ${count(notes.ignored.count, 'entry', 'entries')} of a type envlock does not unpack: ${examples(notes.ignored)}.`);
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
