// Resolves entry parents inside the rootfs like a chroot would, without ever letting a
// symlink lead outside it, and caches what it learned (invalidated on every replacement).

import fs from 'node:fs';
import path from 'node:path';
import { relJoin } from './entry-path.js';
import type { LayerLabel } from './unpack-errors.js';
import { corrupt, unsafePath } from './unpack-errors.js';

/** Linux follows at most 40 symlinks in one lookup (path_resolution(7)); so do we. */
const MAX_SYMLINK_HOPS = 40;

/** The mode implied directories get, as tar and containerd create them. */
export const IMPLIED_DIR_MODE = 0o755;

/** Mode and mtime to apply to a directory once the layer is done (children first). */
export interface PendingDir {
  mode: number;
  mtime: Date | undefined;
}

/** What is known about one path: a real directory (with known children) or a symlink. */
interface Node {
  kind: 'dir' | 'link';
  target?: string;
  children?: Map<string, Node>;
  pending?: PendingDir;
}

/**
 * The rootfs as seen while applying one layer. Every path it hands out is made only of real
 * directories it has lstat-ed (or created) itself; symlinks met in a parent position are
 * followed *inside* the rootfs: absolute targets restart at the rootfs, ".." stops at its
 * root. Nothing else may write the rootfs meanwhile (it is private), and every resolved
 * parent is re-checked with realpath(3) before use, so a stale cache or a case-folding
 * filesystem cannot turn a cached directory into a path through a symlink
 * (node-tar CVE-2021-32803/37701/37712, containerd CVE-2025-47290).
 */
export class RootfsWalker {
  readonly root: string;
  private readonly label: LayerLabel;
  private readonly tree: Node = { kind: 'dir', children: new Map() };
  /** Called with the rel path of every directory this walker creates implicitly. */
  onImpliedDir: (rel: string) => void = () => {};

  constructor(root: string, label: LayerLabel) {
    this.root = root;
    this.label = label;
  }

  abs(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  /**
   * The real rel path of the directory reached by `components` (entry parents), creating
   * missing directories when `create` is set; undefined when missing and not created.
   * With `follow` unset a symlink in the path is refused instead of followed (hard-link
   * targets: node-tar CVE-2026-26960). `entry` is only for messages.
   */
  resolveDir(components: readonly string[], entry: string, create: boolean, follow = true): string | undefined {
    const stack: string[] = [];
    const nodes: Node[] = [this.tree];
    // Components still to walk, last one first, so symlink targets can be spliced in.
    const todo = components.slice().reverse();
    let hops = 0;
    while (todo.length > 0) {
      const name = todo.pop() as string;
      if (name === '' || name === '.') {
        continue;
      }
      if (name === '..') {
        // Only symlink targets contain "..": in a chroot, ".." of the root is the root.
        if (stack.length > 0) {
          stack.pop();
          nodes.pop();
        }
        continue;
      }
      const parent = nodes[nodes.length - 1] as Node;
      let node = parent.children?.get(name);
      if (node === undefined) {
        node = this.probe(stack, name, entry, create);
        if (node === undefined) {
          return undefined;
        }
        parent.children?.set(name, node);
      }
      if (node.kind === 'dir') {
        stack.push(name);
        nodes.push(node);
        continue;
      }
      if (!follow) {
        throw unsafePath(this.label, entry, 'names a hard-link target through a symbolic link');
      }
      if (++hops > MAX_SYMLINK_HOPS) {
        throw unsafePath(this.label, entry, 'is reached through too many symbolic links');
      }
      const target = node.target ?? '';
      if (target.startsWith('/')) {
        stack.length = 0;
        nodes.length = 1;
      }
      const parts = target.split('/');
      for (let i = parts.length - 1; i >= 0; i--) {
        todo.push(parts[i] as string);
      }
    }
    const rel = stack.join('/');
    this.verify(rel, entry);
    return rel;
  }

  /** lstat one component and learn what it is; creates a directory when missing and asked to. */
  private probe(stack: string[], name: string, entry: string, create: boolean): Node | undefined {
    const rel = relJoin(stack.join('/'), name);
    const where = this.abs(rel);
    let stat: fs.Stats | undefined;
    try {
      stat = fs.lstatSync(where);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw error;
      }
    }
    if (stat === undefined) {
      if (!create) {
        return undefined;
      }
      fs.mkdirSync(where, 0o700);
      const node: Node = { kind: 'dir', children: new Map(), pending: { mode: IMPLIED_DIR_MODE, mtime: undefined } };
      this.onImpliedDir(rel);
      return node;
    }
    if (stat.isDirectory()) {
      return { kind: 'dir', children: new Map() };
    }
    if (stat.isSymbolicLink()) {
      return { kind: 'link', target: fs.readlinkSync(where) };
    }
    throw corrupt(this.label, `a parent of the entry ${JSON.stringify(entry)} (${JSON.stringify(rel)}) is not a directory`);
  }

  /** realpath(3) of a resolved directory must be itself: no component is a symlink. */
  private verify(rel: string, entry: string): void {
    const where = this.abs(rel);
    if (fs.realpathSync.native(where) !== where) {
      throw unsafePath(this.label, entry, 'would be written through a symbolic link');
    }
  }

  /** Remembers that rel (inside real directory dirRel) is now a directory or a symlink. */
  learn(dirRel: string, name: string, kind: 'dir' | 'link', target?: string): void {
    const parent = this.lookup(dirRel);
    if (parent?.kind !== 'dir') {
      return;
    }
    const existing = parent.children?.get(name);
    if (kind === 'dir' && existing?.kind === 'dir') {
      return;
    }
    parent.children?.set(name, kind === 'dir' ? { kind, children: new Map() } : { kind, target: target ?? '' });
  }

  /** Forgets rel and everything below it: call after removing or replacing it. */
  forget(rel: string): void {
    const cut = rel.lastIndexOf('/');
    const parent = this.lookup(cut < 0 ? '' : rel.slice(0, cut));
    parent?.children?.delete(cut < 0 ? rel : rel.slice(cut + 1));
  }

  /** Records the mode and mtime a directory gets when the layer is done. */
  setPending(rel: string, pending: PendingDir): void {
    const node = this.lookup(rel);
    if (node?.kind === 'dir') {
      node.pending = pending;
    }
  }

  /** Directories with a pending mode, deepest first, so a 0500 parent never blocks a child. */
  pendingDirs(): Array<{ rel: string; pending: PendingDir }> {
    const found: Array<{ rel: string; depth: number; pending: PendingDir }> = [];
    const walk = (node: Node, rel: string, depth: number): void => {
      if (node.pending !== undefined && rel !== '') {
        found.push({ rel, depth, pending: node.pending });
      }
      for (const [name, child] of node.children ?? []) {
        if (child.kind === 'dir') {
          walk(child, relJoin(rel, name), depth + 1);
        }
      }
    };
    walk(this.tree, '', 0);
    found.sort((a, b) => b.depth - a.depth);
    return found.map(({ rel, pending }) => ({ rel, pending }));
  }

  private lookup(rel: string): Node | undefined {
    let node: Node | undefined = this.tree;
    if (rel === '') {
      return node;
    }
    for (const name of rel.split('/')) {
      node = node?.children?.get(name);
      if (node === undefined) {
        return undefined;
      }
    }
    return node;
  }
}

/** The rootfs path with symlinks resolved, so realpath checks compare like with like. */
export function realRoot(rootfs: string): string {
  return fs.realpathSync.native(path.resolve(rootfs));
}
