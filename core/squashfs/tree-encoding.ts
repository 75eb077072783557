// Encodes the applier's final image tree for the native writer, in the little-endian form that
// native/src/sqfs-writer-tree.cc reads (version 1). A node reached by several names (a hard
// link) is encoded once and referenced from each directory, so it becomes one inode.

import type { ImageNode } from '../unpack/image-sink.js';

const VERSION = 1;
const TYPE = { dir: 1, file: 2, symlink: 3 } as const;
export const NO_FILE = 0xffffffff;

/** Squashfs stores whole seconds in 32 bits: earlier times become 0, later ones the maximum. */
export function squashfsTime(mtime: number): number {
  if (!Number.isFinite(mtime) || mtime <= 0) return 0;
  return Math.min(Math.floor(mtime), 0xffffffff);
}

class Bytes {
  private buffer = Buffer.allocUnsafe(1 << 16);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + n));
    this.buffer.copy(bigger, 0, 0, this.length);
    this.buffer = bigger;
  }

  u8(v: number): void {
    this.room(1);
    this.length = this.buffer.writeUInt8(v, this.length);
  }

  u16(v: number): void {
    this.room(2);
    this.length = this.buffer.writeUInt16LE(v, this.length);
  }

  u32(v: number): void {
    this.room(4);
    this.length = this.buffer.writeUInt32LE(v, this.length);
  }

  raw(b: Buffer): void {
    this.room(b.length);
    this.length += b.copy(this.buffer, this.length);
  }

  done(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}

/**
 * The description of `root`; `fileId(node)` gives the writer's id of a file's streamed content,
 * or undefined for a file that had none (empty). Names are written as UTF-8 bytes.
 */
export function encodeTree<H>(root: ImageNode<H>, fileId: (node: ImageNode<H>) => number | undefined): Uint8Array {
  const index = new Map<ImageNode<H>, number>([[root, 0]]);
  const order: ImageNode<H>[] = [root];
  for (let i = 0; i < order.length; i++) {
    for (const child of (order[i] as ImageNode<H>).children?.values() ?? []) {
      if (!index.has(child)) {
        index.set(child, order.length);
        order.push(child);
      }
    }
  }
  const out = new Bytes();
  out.u32(VERSION);
  out.u32(order.length);
  for (const node of order) {
    out.u8(TYPE[node.kind]);
    out.u16(node.mode & 0o7777);
    out.u32(squashfsTime(node.mtime));
    if (node.kind === 'dir') {
      const children = node.children ?? new Map<string, ImageNode<H>>();
      out.u32(children.size);
      for (const [name, child] of children) {
        const bytes = Buffer.from(name, 'utf8');
        out.u32(index.get(child) as number);
        out.u16(bytes.length);
        out.raw(bytes);
      }
    } else if (node.kind === 'file') {
      out.u32(fileId(node) ?? NO_FILE);
    } else {
      const target = Buffer.from(node.target ?? '', 'utf8');
      out.u32(target.length);
      out.raw(target);
    }
  }
  return out.done();
}
