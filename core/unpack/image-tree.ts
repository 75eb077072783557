// The image as the applier sees it: an in-memory tree of ImageNodes (one per inode; hard links
// share a node), and parent resolution inside it the way a chroot resolves paths: symlinks met
// in a parent position are followed *inside* the image, absolute targets restart at its root,
// ".." stops at its root. Nothing here touches a filesystem.

import type { ImageNode } from './image-sink.js';
import { relJoin } from './entry-path.js';
import type { LayerLabel } from './unpack-errors.js';
import { corrupt, unsafePath } from './unpack-errors.js';

/** Linux follows at most 40 symlinks in one lookup (path_resolution(7)); so do we. */
const MAX_SYMLINK_HOPS = 40;

/** Stored mode of the image root and of directories no entry declared (0755, sealed). */
export const IMPLIED_DIR_MODE = 0o555;

export function newDir<H>(mode: number, mtime: number): ImageNode<H> {
  return { kind: 'dir', mode, mtime, size: 0, children: new Map(), links: 1 };
}

/** A resolved directory: its image path and node. */
export interface DirRef<H> {
  path: string;
  node: ImageNode<H>;
}

export class ImageTree<H = unknown> {
  readonly root: ImageNode<H> = newDir(IMPLIED_DIR_MODE, 0);

  constructor(private readonly label: LayerLabel) {}

  /**
   * The directory reached by `components` (an entry's parents). Missing directories are
   * created when `created` is given (each new one is pushed to it, outermost first) and
   * otherwise end the walk with undefined. With `follow` unset a symlink in the path is
   * refused instead of followed (hard-link targets: node-tar CVE-2026-26960). A regular file
   * in a parent position is LAYER_CORRUPT. `entry` is only for messages.
   */
  resolveDir(components: readonly string[], entry: string, created?: Array<DirRef<H>>, follow = true): DirRef<H> | undefined {
    const names: string[] = [];
    const nodes: Array<ImageNode<H>> = [this.root];
    // Components still to walk, last one first, so symlink targets can be spliced in.
    const todo = components.slice().reverse();
    let hops = 0;
    while (todo.length > 0) {
      const name = todo.pop() as string;
      if (name === '' || name === '.') continue;
      if (name === '..') {
        // Only symlink targets contain "..": in a chroot, ".." of the root is the root.
        if (names.length > 0) {
          names.pop();
          nodes.pop();
        }
        continue;
      }
      const parent = nodes[nodes.length - 1] as ImageNode<H>;
      let node = parent.children?.get(name);
      if (node === undefined) {
        if (created === undefined) return undefined;
        node = newDir<H>(IMPLIED_DIR_MODE, 0);
        parent.children?.set(name, node);
        created.push({ path: relJoin(names.join('/'), name), node });
      }
      if (node.kind === 'dir') {
        names.push(name);
        nodes.push(node);
        continue;
      }
      if (node.kind === 'file') {
        throw corrupt(this.label, `a parent of the entry ${JSON.stringify(entry)} (${JSON.stringify(relJoin(names.join('/'), name))}) is not a directory`);
      }
      if (!follow) {
        throw unsafePath(this.label, entry, 'names a hard-link target through a symbolic link');
      }
      if (++hops > MAX_SYMLINK_HOPS) {
        throw unsafePath(this.label, entry, 'is reached through too many symbolic links');
      }
      const target = node.target ?? '';
      if (target.startsWith('/')) {
        names.length = 0;
        nodes.length = 1;
      }
      const parts = target.split('/');
      for (let i = parts.length - 1; i >= 0; i--) todo.push(parts[i] as string);
    }
    return { path: names.join('/'), node: nodes[nodes.length - 1] as ImageNode<H> };
  }

  /** Adds a name for node in dir (the caller removed whatever was there). */
  attach(dir: ImageNode<H>, name: string, node: ImageNode<H>): void {
    dir.children?.set(name, node);
  }

  /** Takes name out of dir; every file and symlink below it loses one name. */
  detach(dir: ImageNode<H>, name: string): ImageNode<H> | undefined {
    const node = dir.children?.get(name);
    if (node === undefined) return undefined;
    dir.children?.delete(name);
    unlinkAll(node);
    return node;
  }
}

/** Iteratively (no recursion limit), lowers the link count of every non-directory below node. */
function unlinkAll<H>(top: ImageNode<H>): void {
  const stack = [top];
  while (stack.length > 0) {
    const node = stack.pop() as ImageNode<H>;
    if (node.kind === 'dir') {
      for (const child of node.children?.values() ?? []) stack.push(child);
    } else {
      node.links -= 1;
    }
  }
}
