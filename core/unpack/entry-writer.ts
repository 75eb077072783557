// Applies one archive entry to the rootfs with its own system calls: confined parents,
// remove-then-recreate for changed paths, O_NOFOLLOW|O_EXCL file creation, no chown.

import fs from 'node:fs';
import { entryComponents, relJoin, WHITEOUT_PREFIX, whiteoutOf } from './entry-path.js';
import { hasSetId, storedDirMode, storedFileMode } from './modes.js';
import type { RootfsWalker } from './rootfs-walker.js';
import type { LayerLabel } from './unpack-errors.js';
import { corrupt, unsafePath } from './unpack-errors.js';
import { removeTree, type LayerChanges } from './whiteouts.js';

export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/** What the unpacker needs from a tar header (already merged with PAX/GNU extensions). */
export interface EntryHeader {
  path: string;
  type: EntryType;
  mode: number | undefined;
  mtime: Date | undefined;
  linkpath: string | undefined;
}

/** Receives a regular file's content, in order; end() or abort() exactly once. */
export interface FileSink {
  write(chunk: Buffer): void;
  end(): void;
  abort(): void;
}

const AUFS_META_PREFIX = `${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`;

// Node opens every descriptor close-on-exec already (libuv adds O_CLOEXEC).
const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
const CREATE_FLAGS = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;

/** A count and the first few names of something skipped or changed (memory stays bounded). */
export class Sample {
  count = 0;
  readonly examples: string[] = [];
  add(name: string): void {
    if (++this.count <= 3) {
      this.examples.push(name);
    }
  }
}

/** Things skipped or changed, turned into one warning line each at the end. */
export interface WriterNotes {
  devices: Sample;
  setId: Sample;
  auFsMeta: Sample;
}

export class EntryWriter {
  readonly notes: WriterNotes = { devices: new Sample(), setId: new Sample(), auFsMeta: new Sample() };

  constructor(
    private readonly walker: RootfsWalker,
    private readonly changes: LayerChanges,
    private readonly label: LayerLabel,
    private readonly sealFiles = false,
  ) {}

  /** Applies the entry; for a regular file returns the sink its content must go to. */
  apply(header: EntryHeader): FileSink | undefined {
    const raw = header.path;
    const components = entryComponents(raw, this.label);
    const base = components.pop();
    if (base === undefined) {
      // The root itself: a directory entry is fine (its mode is the caller's business); any
      // other type would replace the rootfs (umoci CVE-2021-29136).
      if (header.type !== 'dir') {
        throw unsafePath(this.label, raw, 'would replace the root directory of the image');
      }
      return undefined;
    }
    if (components.some((part) => part.startsWith(AUFS_META_PREFIX))) {
      this.notes.auFsMeta.add(raw); // inside ".wh..wh.plnk/" and friends: AUFS bookkeeping
      return undefined;
    }
    const whiteout = whiteoutOf(base, raw, this.label);
    if (whiteout.kind !== 'none') {
      this.applyWhiteout(components, raw, whiteout);
      return undefined;
    }
    if (header.type === 'char' || header.type === 'block' || header.type === 'fifo') {
      // mknod needs CAP_MKNOD in the initial namespace, and the runtime provides /dev itself.
      this.notes.devices.add(raw);
      return undefined;
    }
    const dirRel = this.walker.resolveDir(components, raw, true) as string;
    const rel = relJoin(dirRel, base);
    this.changes.add(rel);
    switch (header.type) {
      case 'dir':
        this.makeDir(dirRel, base, rel, header);
        return undefined;
      case 'symlink':
        this.makeSymlink(dirRel, base, rel, header);
        return undefined;
      case 'hardlink':
        this.makeHardlink(rel, header);
        return undefined;
      case 'file':
        return this.makeFile(rel, header);
    }
  }

  private applyWhiteout(parents: string[], raw: string, whiteout: ReturnType<typeof whiteoutOf>): void {
    if (whiteout.kind === 'meta') {
      this.notes.auFsMeta.add(raw);
      return;
    }
    const dirRel = this.walker.resolveDir(parents, raw, false);
    if (dirRel === undefined) {
      return; // nothing below a missing directory to hide
    }
    this.changes.hold(dirRel);
    if (whiteout.kind === 'opaque') {
      this.changes.opaque(this.walker, dirRel);
    } else if (whiteout.kind === 'remove') {
      this.changes.whiteout(this.walker, dirRel, whiteout.name);
    }
  }

  /**
   * Runs create(); if something is already there, removes it (recursively for a directory,
   * never following a symlink) and tries once more. With keepDir an existing directory
   * stays (layer.md: a directory in both layers keeps its children).
   */
  private createFresh(rel: string, create: () => void, keepDir = false): void {
    try {
      create();
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw error;
      }
    }
    const stat = fs.lstatSync(this.walker.abs(rel));
    if (stat.isDirectory() && keepDir) {
      return;
    }
    removeTree(this.walker, rel, stat.isDirectory());
    create();
  }

  private makeDir(dirRel: string, base: string, rel: string, header: EntryHeader): void {
    this.createFresh(rel, () => fs.mkdirSync(this.walker.abs(rel), 0o700), true);
    this.walker.learn(dirRel, base, 'dir');
    this.walker.setPending(rel, { mode: storedDirMode(header.mode), mtime: header.mtime });
  }

  private makeSymlink(dirRel: string, base: string, rel: string, header: EntryHeader): void {
    // The target is stored exactly as written: "/usr/share/zoneinfo/UTC" and "../../x" are
    // legal and mean "inside the image" once the runtime pivots into it.
    const target = header.linkpath ?? '';
    if (target === '' || target.includes('\0')) {
      throw corrupt(this.label, `the symbolic link ${JSON.stringify(header.path)} has no usable target`);
    }
    this.createFresh(rel, () => fs.symlinkSync(target, this.walker.abs(rel)));
    this.walker.learn(dirRel, base, 'link', target);
  }

  private makeHardlink(rel: string, header: EntryHeader): void {
    const raw = header.path;
    const targetParts = entryComponents(header.linkpath ?? '', this.label, 'hard-link target');
    const targetBase = targetParts.pop();
    if (targetBase === undefined) {
      throw unsafePath(this.label, raw, 'is a hard link to the root directory');
    }
    // The target is an archive path: its parents must be real directories (no symlink is
    // followed), and it must be a file or symlink already in the rootfs, this layer or lower.
    const targetDir = this.walker.resolveDir(targetParts, raw, false, false);
    const targetRel = targetDir === undefined ? undefined : relJoin(targetDir, targetBase);
    let stat: fs.Stats | undefined;
    try {
      stat = targetRel === undefined ? undefined : fs.lstatSync(this.walker.abs(targetRel));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw error;
      }
    }
    if (stat === undefined || targetRel === undefined) {
      throw corrupt(this.label, `the hard link ${JSON.stringify(raw)} points to ${JSON.stringify(header.linkpath)}, which is not in the image`);
    }
    if (!stat.isFile() && !stat.isSymbolicLink()) {
      throw unsafePath(this.label, raw, 'is a hard link to a directory or special file');
    }
    if (targetRel === rel) {
      return;
    }
    // link(2) on Linux never dereferences a symlink target, so this links the entry itself.
    this.createFresh(rel, () => fs.linkSync(this.walker.abs(targetRel), this.walker.abs(rel)));
  }

  private makeFile(rel: string, header: EntryHeader): FileSink {
    const where = this.walker.abs(rel);
    let fd = -1;
    this.createFresh(rel, () => {
      fd = fs.openSync(where, CREATE_FLAGS, 0o600);
    });
    if (hasSetId(header.mode)) {
      this.notes.setId.add(header.path);
    }
    // Sealed: the write bits go now, as sealTree would clear them later (docs/store.md).
    const mode = this.sealFiles ? storedFileMode(header.mode) & 0o7555 : storedFileMode(header.mode);
    const mtime = header.mtime;
    let open = true;
    return {
      write(chunk: Buffer): void {
        let offset = 0;
        while (offset < chunk.length) {
          offset += fs.writeSync(fd, chunk, offset, chunk.length - offset);
        }
      },
      end(): void {
        // fchmod, never chmod: the mode lands on the inode we created (containerd
        // CVE-2021-32760), and the umask cannot change it.
        fs.fchmodSync(fd, mode);
        if (mtime !== undefined && !Number.isNaN(mtime.getTime())) {
          fs.futimesSync(fd, mtime, mtime);
        }
        open = false;
        fs.closeSync(fd);
      },
      abort(): void {
        if (open) {
          open = false;
          fs.closeSync(fd);
        }
      },
    };
  }
}
