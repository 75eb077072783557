// OCI whiteouts (image-spec layer.md "Whiteouts"): hide paths of *lower* layers only, never
// what this same layer adds, whatever their order in the stream, and in linear time.

import fs from 'node:fs';
import { relJoin } from './entry-path.js';
import type { RootfsWalker } from './rootfs-walker.js';

/**
 * What the current layer has put in the rootfs. A whiteout or opaque marker removes
 * everything at or below its target that is not in `created` and has nothing of this
 * layer below it (`holds`). Once a subtree has been pruned it holds only this layer's
 * content, so it is never walked again (containerd CVE-2026-95838: repeated opaque
 * whiteouts re-scanning the tree).
 */
export class LayerChanges {
  private readonly created = new Set<string>();
  private readonly holds = new Set<string>();
  private readonly pruned = new Set<string>();

  /** Records a path this layer wrote, and that its ancestors hold layer content. */
  add(rel: string): void {
    this.created.add(rel);
    this.hold(rel);
  }

  /** Records that directory rel and its ancestors hold content of this layer. */
  hold(rel: string): void {
    let at = rel;
    while (at !== '' && !this.holds.has(at)) {
      this.holds.add(at);
      const cut = at.lastIndexOf('/');
      at = cut < 0 ? '' : at.slice(0, cut);
    }
  }

  get size(): number {
    return this.created.size;
  }

  private isPruned(rel: string): boolean {
    if (this.pruned.has('')) {
      return true;
    }
    let at = rel;
    while (at !== '') {
      if (this.pruned.has(at)) {
        return true;
      }
      const cut = at.lastIndexOf('/');
      at = cut < 0 ? '' : at.slice(0, cut);
    }
    return false;
  }

  private keeps(rel: string): boolean {
    return this.created.has(rel) || this.holds.has(rel);
  }

  /** ".wh.NAME" in real directory dirRel: hide the lower NAME (and all below it). */
  whiteout(walker: RootfsWalker, dirRel: string, name: string): void {
    const rel = relJoin(dirRel, name);
    if (this.isPruned(rel)) {
      return;
    }
    let stat: fs.Stats | undefined;
    try {
      stat = fs.lstatSync(walker.abs(rel));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw error;
      }
    }
    if (stat !== undefined) {
      if (!this.keeps(rel)) {
        removeTree(walker, rel, stat.isDirectory());
      } else if (stat.isDirectory()) {
        this.pruneChildren(walker, rel);
      }
    }
    this.pruned.add(rel);
  }

  /** ".wh..wh..opq" in real directory dirRel: hide every lower child of it. */
  opaque(walker: RootfsWalker, dirRel: string): void {
    if (this.isPruned(dirRel)) {
      return;
    }
    this.pruneChildren(walker, dirRel);
    this.pruned.add(dirRel);
  }

  private pruneChildren(walker: RootfsWalker, dirRel: string): void {
    for (const dirent of fs.readdirSync(walker.abs(dirRel), { withFileTypes: true })) {
      const rel = relJoin(dirRel, dirent.name);
      if (this.pruned.has(rel)) {
        continue;
      }
      if (!this.keeps(rel)) {
        removeTree(walker, rel, dirent.isDirectory());
      } else if (dirent.isDirectory()) {
        this.pruneChildren(walker, rel);
      }
    }
  }
}

/** Removes one path of the rootfs (recursively for a directory) without following symlinks. */
export function removeTree(walker: RootfsWalker, rel: string, isDirectory: boolean): void {
  const where = walker.abs(rel);
  if (isDirectory) {
    // fs.rmSync lstat-s every entry and unlinks symlinks instead of following them; our
    // directories are always owner-rwx, so nothing below blocks the removal.
    fs.rmSync(where, { recursive: true, force: true });
  } else {
    fs.unlinkSync(where);
  }
  walker.forget(rel);
}
