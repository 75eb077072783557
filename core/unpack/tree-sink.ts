// The tree destination: writes the applier's decisions into a private directory of the store.
// Files are created O_CREAT|O_EXCL|O_NOFOLLOW and sealed with fchmod on their own descriptor;
// directories stay owner-writable until finish() gives them their stored modes, deepest first.
// Nothing is ever chowned. Every parent is checked once with realpath(3) as a second line of
// defence: the applier never hands out a path through a symlink, and this proves it.

import fs from 'node:fs';
import path from 'node:path';
import type { FileContent, ImageNode, ImageSink } from './image-sink.js';

// Node opens every descriptor close-on-exec already (libuv adds O_CLOEXEC).
const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_DIRECTORY } = fs.constants;
const CREATE_FLAGS = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
/** Directories sealed between two yields to the event loop in finish(). */
const SEAL_SLICE = 256;

export class TreeSink implements ImageSink<undefined> {
  readonly location: string;
  /** Parents proven to be real directories; dropped whenever a directory is removed. */
  private readonly verified = new Set<string>();
  private openFd = -1;

  /** `root` must be an empty directory private to this process (a 0700 parent). */
  constructor(root: string) {
    this.location = fs.realpathSync.native(path.resolve(root));
  }

  private abs(rel: string): string {
    return rel === '' ? this.location : `${this.location}/${rel}`;
  }

  /** The parent of rel must resolve to itself: no component of it is a symlink. */
  private confined(rel: string): string {
    const cut = rel.lastIndexOf('/');
    const parent = cut < 0 ? '' : rel.slice(0, cut);
    if (parent !== '' && !this.verified.has(parent)) {
      const where = this.abs(parent);
      if (fs.realpathSync.native(where) !== where) {
        throw Object.assign(new Error(`${where} is reached through a symbolic link`), { code: 'ELOOP' });
      }
      this.verified.add(parent);
    }
    return this.abs(rel);
  }

  directory(rel: string): void {
    fs.mkdirSync(this.confined(rel), 0o700);
  }

  symlink(rel: string, node: ImageNode<undefined>): void {
    fs.symlinkSync(node.target as string, this.confined(rel));
  }

  hardlink(rel: string, existing: string): void {
    // link(2) does not follow a symlink at `existing`: the link is to the entry itself.
    fs.linkSync(this.confined(existing), this.confined(rel));
  }

  file(rel: string, node: ImageNode<undefined>): FileContent {
    const fd = fs.openSync(this.confined(rel), CREATE_FLAGS, 0o600);
    this.openFd = fd;
    let position = 0;
    let written = 0;
    return {
      write: (chunk: Buffer) => {
        let offset = 0;
        while (offset < chunk.length) {
          offset += fs.writeSync(fd, chunk, offset, chunk.length - offset, position + offset);
        }
        position += chunk.length;
        written = position;
      },
      hole: (length: number) => {
        position += length; // writes go to explicit offsets, so a skipped range stays a hole
      },
      end: () => {
        if (position > written) fs.ftruncateSync(fd, position);
        // fchmod, never chmod: the mode lands on the inode we created (containerd
        // CVE-2021-32760), and the umask cannot change it.
        fs.fchmodSync(fd, node.mode);
        fs.futimesSync(fd, node.mtime, node.mtime);
        this.openFd = -1;
        fs.closeSync(fd);
      },
    };
  }

  remove(rel: string, node: ImageNode<undefined>): void {
    const where = this.confined(rel);
    if (node.kind === 'dir') {
      // rmSync never follows symlinks, and every directory is owner-rwx until finish().
      fs.rmSync(where, { recursive: true });
      this.verified.clear();
    } else {
      fs.unlinkSync(where);
    }
  }

  /** Stored modes and mtimes for every directory, children before parents, the root last. */
  async finish(root: ImageNode<undefined>): Promise<void> {
    const dirs: Array<{ rel: string; node: ImageNode<undefined> }> = [];
    const walk = (node: ImageNode<undefined>, rel: string): void => {
      for (const [name, child] of node.children ?? []) {
        if (child.kind === 'dir') walk(child, rel === '' ? name : `${rel}/${name}`);
      }
      dirs.push({ rel, node });
    };
    walk(root, '');
    for (const [i, { rel, node }] of dirs.entries()) {
      const fd = fs.openSync(this.confined(rel), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      try {
        fs.fchmodSync(fd, node.mode);
        fs.futimesSync(fd, node.mtime, node.mtime);
      } finally {
        fs.closeSync(fd);
      }
      if (i % SEAL_SLICE === SEAL_SLICE - 1) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  async abort(): Promise<void> {
    if (this.openFd >= 0) {
      fs.closeSync(this.openFd);
      this.openFd = -1;
    }
  }
}
