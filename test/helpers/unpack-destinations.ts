// The destinations every layer test runs through (round-2 Decision 1: one applier, several
// sinks). Each writes only inside the sandbox's rootfs directory and can show what it wrote as
// a directory tree; a new destination adds one row here and every test covers it.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { SquashfsSink } from '../../core/squashfs/squashfs-sink.js';
import { TreeSink } from '../../core/unpack/tree-sink.js';
import type { ImageSink } from '../../core/unpack/image-sink.js';

export interface Destination {
  name: string;
  /** A sink that writes below `rootfs` (an empty private directory). */
  sink(rootfs: string): ImageSink | Promise<ImageSink>;
  /** A directory tree of what was written (the rootfs itself for the tree form). */
  view(rootfs: string): string;
}

/** Where the squashfs row writes its image, inside the sandbox's rootfs. */
export const SQUASHFS_IMAGE = 'image.sqfs';

/**
 * The squashfs image as a tree, extracted once by squashfs-tools' unsquashfs (as root: owners 0,
 * modes, times, hard links and link targets as stored); an empty tree when nothing was written.
 */
function extracted(rootfs: string): string {
  const view = path.join(rootfs, 'view');
  const image = path.join(rootfs, SQUASHFS_IMAGE);
  if (existsSync(view)) return view;
  if (!existsSync(image)) {
    mkdirSync(view);
    return view;
  }
  execFileSync('unsquashfs', ['-no-xattrs', '-quiet', '-no-progress', '-d', view, image], { stdio: ['ignore', 'ignore', 'pipe'] });
  return view;
}

export const DESTINATIONS: Destination[] = [
  {
    name: 'tree',
    sink: (rootfs) => new TreeSink(rootfs),
    view: (rootfs) => rootfs,
  },
  {
    name: 'squashfs',
    // Each unpack writes a new image, as each pull does (the store discards a failed one). Not
    // fsynced: nothing here outlives the test; the bytes do not depend on the thread count.
    sink: async (rootfs) => {
      const image = path.join(rootfs, SQUASHFS_IMAGE);
      rmSync(path.join(rootfs, 'view'), { recursive: true, force: true });
      rmSync(image, { force: true });
      const sink = await SquashfsSink.create(image, { durable: false, workers: 2 });
      // As installSquashfs does: an image whose build failed is removed, never looked at.
      const abort = sink.abort.bind(sink);
      sink.abort = async () => {
        await abort();
        rmSync(image, { force: true });
      };
      return sink;
    },
    view: extracted,
  },
];

export function destination(name: string): Destination {
  const found = DESTINATIONS.find((d) => d.name === name);
  if (found === undefined) throw new Error(`no destination ${name}`);
  return found;
}
