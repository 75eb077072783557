// Where an applied image goes (round-2 Decision 1): the applier decides everything about every
// entry and keeps the image as an in-memory tree; a sink (tree directory, squashfs file) only
// writes what it is told. This file is the contract between the two.
//
// Call order. The applier calls a sink strictly one call at a time and awaits each returned
// promise before the next call (that is the back-pressure): structural calls in archive order,
// layer after layer, then finish(root) once, or abort() once after any failure (also after a
// failed finish). Paths are image-relative: components joined by "/", no leading "/", "" is the
// root; every component is valid UTF-8 (the applier refuses other names), never "." or "..",
// and every parent is a real directory of the image at the time of the call (the applier has
// resolved symlinks in parents inside the image already): a sink never follows or checks links.
//
// Sparse files. A hole in a sparse member reaches the sink as FileContent.hole(length): that many
// zero bytes, in content order, which the sink may store as a hole (a seek in a tree, a sparse
// block in squashfs) or as written zeros. node.size and node.sha256 always count the zeros.

/** One inode of the image. Hard links are one node reached by several names. */
export interface ImageNode<H = unknown> {
  readonly kind: 'dir' | 'file' | 'symlink';
  /**
   * Permission bits exactly as stored and digested (docs/security.md): the sealed mode, no
   * write bits, no setuid/setgid; directories may carry the sticky bit. The tree sink applies
   * a directory's mode only in finish(), so it can fill the directory first.
   */
  mode: number;
  /** Modification time from the header, seconds since the epoch (PAX may give a fraction). */
  mtime: number;
  /** Symlinks: the target exactly as the archive wrote it (absolute and ".." targets included). */
  target?: string;
  /** Files: content bytes, holes included; symlinks: bytes of the target; directories: 0. */
  size: number;
  /** Files: lower-case hex sha256 of the content, set by the applier when the content ends. */
  sha256?: string;
  /** Files: the sink's own handle for the stored data (a squashfs block list, say); the sink sets it. */
  content?: H;
  /** Directories: children by name. Sort with compareNames for byte order. */
  children?: Map<string, ImageNode<H>>;
  /** Names in the image that reach this node now (1 unless hard-linked; already lowered when remove() is called). */
  links: number;
}

/** A call may return a promise for back-pressure; the applier awaits it before the next call. */
export type SinkStep = void | Promise<void>;

/** Receives one regular file's content, in order, then end(). Never reused. */
export interface FileContent {
  write(chunk: Buffer): SinkStep;
  /** `length` zero bytes that may be stored as a hole (see the header comment). */
  hole(length: number): SinkStep;
  /** The content is complete (node.size and node.sha256 are final by now). */
  end(): SinkStep;
}

export interface ImageSink<H = unknown> {
  /** Where the sink writes (a directory, a file), for messages such as "the filesystem holding … is full". */
  readonly location?: string;
  /** A directory comes into being at path (implied parents too). The root exists from the start
   * and existing directories are not re-announced; their final mode and mtime come with finish(). */
  directory(path: string, node: ImageNode<H>): SinkStep;
  /** A symlink node.target at path. */
  symlink(path: string, node: ImageNode<H>): SinkStep;
  /** path becomes one more name of the file or symlink node that `existing` names now. */
  hardlink(path: string, existing: string, node: ImageNode<H>): SinkStep;
  /** A regular file at path; its content follows through the returned writer before any other call. */
  file(path: string, node: ImageNode<H>): FileContent | Promise<FileContent>;
  /**
   * path leaves the image (a whiteout, or an entry replaced by a later one), with everything
   * below it when it is a directory. A tree must delete it; a squashfs writer may ignore it
   * (blocks already written stay unreferenced), since finish() gets the final tree anyway.
   */
  remove(path: string, node: ImageNode<H>): SinkStep;
  /** Every layer is applied: root is the final image (root.mode is the root directory's mode). */
  finish(root: ImageNode<H>): Promise<void>;
  /** Something failed: release what is held. Whatever was written will be discarded by the caller. */
  abort(): Promise<void>;
}

/**
 * Orders names as their UTF-8 bytes compare (memcmp), which is what the tree digest and
 * squashfs directories use; JavaScript's own `<` compares UTF-16 units and differs past U+FFFF.
 */
export function compareNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      return byteRank(x) - byteRank(y);
    }
  }
  return a.length - b.length;
}

/** Surrogates (code points above U+FFFF) sort after U+E000–U+FFFF in UTF-8; shift to match. */
function byteRank(unit: number): number {
  if (unit < 0xd800) {
    return unit;
  }
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}
