// The destinations every layer test runs through (round-2 Decision 1: one applier, several
// sinks). Each writes only inside the sandbox's rootfs directory and can show what it wrote as
// a directory tree; a new destination (squashfs) adds one row here and every test covers it.

import { TreeSink } from '../../core/unpack/tree-sink.js';
import type { ImageSink } from '../../core/unpack/image-sink.js';

export interface Destination {
  name: string;
  /** A sink that writes below `rootfs` (an empty private directory). */
  sink(rootfs: string): ImageSink;
  /** A directory tree of what was written (the rootfs itself for the tree form). */
  view(rootfs: string): string;
}

export const DESTINATIONS: Destination[] = [
  {
    name: 'tree',
    sink: (rootfs) => new TreeSink(rootfs),
    view: (rootfs) => rootfs,
  },
];

export function destination(name: string): Destination {
  const found = DESTINATIONS.find((d) => d.name === name);
  if (found === undefined) throw new Error(`no destination ${name}`);
  return found;
}
