// OCI whiteouts (image-spec layer.md "Whiteouts"): hide paths of *lower* layers only, never
// what this same layer adds, whatever their order in the stream, and in linear time.

import type { ImageNode } from './image-sink.js';
import { relJoin } from './entry-path.js';

/** Removes child `name` of directory `dir` (at image path dirPath) from the image and the sink. */
export type Remove<H> = (dirPath: string, dir: ImageNode<H>, name: string) => Promise<void>;

/**
 * What the current layer has put in the image, by path. A whiteout or opaque marker removes
 * everything at or below its target that is not in `created` and has nothing of this layer
 * below it (`holds`). Once a subtree has been pruned it holds only this layer's content, so it
 * is never walked again (containerd CVE-2026-95838: repeated opaque whiteouts re-scanning the
 * tree).
 */
export class LayerChanges {
  private readonly created = new Set<string>();
  private readonly holds = new Set<string>();
  private readonly pruned = new Set<string>();

  /** Records a path this layer wrote, and that its ancestors hold layer content. */
  add(path: string): void {
    this.created.add(path);
    this.hold(path);
  }

  /** Records that directory path and its ancestors hold content of this layer. */
  hold(path: string): void {
    let at = path;
    while (at !== '' && !this.holds.has(at)) {
      this.holds.add(at);
      const cut = at.lastIndexOf('/');
      at = cut < 0 ? '' : at.slice(0, cut);
    }
  }

  private isPruned(path: string): boolean {
    if (this.pruned.has('')) return true;
    let at = path;
    while (at !== '') {
      if (this.pruned.has(at)) return true;
      const cut = at.lastIndexOf('/');
      at = cut < 0 ? '' : at.slice(0, cut);
    }
    return false;
  }

  private keeps(path: string): boolean {
    return this.created.has(path) || this.holds.has(path);
  }

  /** ".wh.NAME" in directory dir (at dirPath): hide the lower NAME and all below it. */
  async whiteout<H>(dirPath: string, dir: ImageNode<H>, name: string, remove: Remove<H>): Promise<void> {
    const path = relJoin(dirPath, name);
    if (this.isPruned(path)) return;
    const node = dir.children?.get(name);
    if (node !== undefined) {
      if (!this.keeps(path)) await remove(dirPath, dir, name);
      else if (node.kind === 'dir') await this.pruneChildren(path, node, remove);
    }
    this.pruned.add(path);
  }

  /** ".wh..wh..opq" in directory dir: hide every lower child of it. */
  async opaque<H>(dirPath: string, dir: ImageNode<H>, remove: Remove<H>): Promise<void> {
    if (this.isPruned(dirPath)) return;
    await this.pruneChildren(dirPath, dir, remove);
    this.pruned.add(dirPath);
  }

  private async pruneChildren<H>(dirPath: string, dir: ImageNode<H>, remove: Remove<H>): Promise<void> {
    for (const [name, child] of [...(dir.children ?? [])]) {
      const path = relJoin(dirPath, name);
      if (this.pruned.has(path)) continue;
      if (!this.keeps(path)) await remove(dirPath, dir, name);
      else if (child.kind === 'dir') await this.pruneChildren(path, child, remove);
    }
  }
}
