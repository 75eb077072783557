// Decides what every archive entry does to the image (round-2 Decision 1): names, confinement,
// whiteouts, replacement, hard links, symlinks, devices, modes. It changes the in-memory tree
// and tells the sink; it never asks a filesystem what exists.

import { createHash } from 'node:crypto';
import { entryComponents, relJoin, WHITEOUT_PREFIX, whiteoutOf, type Whiteout } from './entry-path.js';
import type { ImageNode, ImageSink } from './image-sink.js';
import { ImageTree, type DirRef } from './image-tree.js';
import { hasSetId, storedDirMode, storedFileMode, SYMLINK_MODE } from './modes.js';
import type { TarMember, TarReader } from './tar-reader.js';
import { digestImage } from './tree-digest.js';
import type { LayerLabel } from './unpack-errors.js';
import { corrupt, tooLarge, unsafePath } from './unpack-errors.js';
import { LayerChanges } from './whiteouts.js';

const AUFS_META_PREFIX = `${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`;
/** Zeros hashed for holes of sparse files; a long hole yields to the event loop every 64 MiB. */
const ZEROS = Buffer.alloc(1 << 20);
const HOLE_SLICE = 64;

/** A count and the first few names of something skipped or changed (memory stays bounded). */
export class Sample {
  count = 0;
  readonly examples: string[] = [];
  add(name: string): void {
    if (++this.count <= 3) this.examples.push(name);
  }
}

/** Things skipped or changed in one layer, summarised in a line each at its end. */
export interface LayerNotes {
  devices: Sample;
  setId: Sample;
  auFsMeta: Sample;
  xattrs: Sample;
  ignored: Sample;
}

export function newNotes(): LayerNotes {
  return { devices: new Sample(), setId: new Sample(), auFsMeta: new Sample(), xattrs: new Sample(), ignored: new Sample() };
}

export class ImageApplier<H = unknown> {
  readonly tree: ImageTree<H>;
  private changes = new LayerChanges();
  notes: LayerNotes = newNotes();
  /** Bytes of holes materialised so far, and the most allowed (the caller sets it per layer). */
  holeBytes = 0;
  maxHoleBytes = Number.MAX_SAFE_INTEGER;
  /** The entry being applied, for error messages. */
  current = '';

  constructor(
    readonly sink: ImageSink<H>,
    readonly label: LayerLabel,
  ) {
    this.tree = new ImageTree<H>(label);
  }

  /** Starts a layer: whiteouts of the next layer see everything applied so far as lower. */
  beginLayer(layer: string): void {
    this.label.layer = layer;
    this.changes = new LayerChanges();
    this.notes = newNotes();
  }

  /** Every layer is applied: the sink gets the final tree; returns it and its tree digest. */
  async finish(): Promise<{ root: ImageNode<H>; treeDigest: string }> {
    await this.sink.finish(this.tree.root);
    return { root: this.tree.root, treeDigest: await digestImage(this.tree.root) };
  }

  async apply(member: TarMember, reader: TarReader): Promise<void> {
    const raw = member.name;
    this.current = raw;
    const components = entryComponents(raw, this.label);
    const base = components.pop();
    if (base === undefined) {
      // The root itself: a directory entry is fine (the root keeps its own mode); any other
      // type would replace the image's root (umoci CVE-2021-29136).
      if (member.kind !== 'dir') throw unsafePath(this.label, raw, 'would replace the root directory of the image');
      return;
    }
    if (components.some((part) => part.startsWith(AUFS_META_PREFIX))) {
      this.notes.auFsMeta.add(raw); // inside ".wh..wh.plnk/" and friends: AUFS bookkeeping
      return;
    }
    const whiteout = whiteoutOf(base, raw, this.label);
    if (whiteout.kind !== 'none') return this.applyWhiteout(components, raw, whiteout);
    if (member.kind === 'char' || member.kind === 'block' || member.kind === 'fifo') {
      // mknod needs CAP_MKNOD in the initial namespace, and the runtime provides /dev itself.
      this.notes.devices.add(raw);
      return;
    }
    if (member.kind === 'other') {
      this.notes.ignored.add(`${raw} (type ${JSON.stringify(member.typeflag)})`);
      return;
    }
    if (member.xattrs.length > 0) this.notes.xattrs.add(raw);
    const dir = await this.parent(components, raw);
    const path = relJoin(dir.path, base);
    this.changes.add(path);
    switch (member.kind) {
      case 'dir':
        return this.makeDir(dir, base, path, member);
      case 'symlink':
        return this.makeSymlink(dir, base, path, member);
      case 'hardlink':
        return this.makeHardlink(dir, base, path, member);
      case 'file':
        return this.makeFile(dir, base, path, member, reader);
    }
  }

  /** Resolves (and creates) the entry's parent directory, announcing new ones to the sink. */
  private async parent(components: string[], raw: string): Promise<DirRef<H>> {
    const created: Array<DirRef<H>> = [];
    const dir = this.tree.resolveDir(components, raw, created) as DirRef<H>;
    for (const made of created) {
      this.changes.add(made.path);
      await this.sink.directory(made.path, made.node);
    }
    return dir;
  }

  private async applyWhiteout(parents: string[], raw: string, whiteout: Whiteout): Promise<void> {
    if (whiteout.kind === 'meta') {
      this.notes.auFsMeta.add(raw);
      return;
    }
    const dir = this.tree.resolveDir(parents, raw);
    if (dir === undefined) return; // nothing below a missing directory to hide
    this.changes.hold(dir.path);
    const remove = (dirPath: string, node: ImageNode<H>, name: string) => this.remove(dirPath, node, name);
    if (whiteout.kind === 'opaque') await this.changes.opaque(dir.path, dir.node, remove);
    else if (whiteout.kind === 'remove') await this.changes.whiteout(dir.path, dir.node, whiteout.name, remove);
  }

  /** Whatever is at dir/name leaves the image (a whole subtree for a directory). */
  private async remove(dirPath: string, dir: ImageNode<H>, name: string): Promise<void> {
    const node = this.tree.detach(dir, name);
    if (node !== undefined) await this.sink.remove(relJoin(dirPath, name), node);
  }

  private async makeDir(dir: DirRef<H>, base: string, path: string, member: TarMember): Promise<void> {
    const existing = dir.node.children?.get(base);
    if (existing?.kind === 'dir') {
      // layer.md: a directory in both layers keeps its children; its metadata is replaced.
      existing.mode = storedDirMode(member.mode);
      existing.mtime = member.mtime;
      return;
    }
    await this.remove(dir.path, dir.node, base);
    const node: ImageNode<H> = { kind: 'dir', mode: storedDirMode(member.mode), mtime: member.mtime, size: 0, children: new Map(), links: 1 };
    this.tree.attach(dir.node, base, node);
    await this.sink.directory(path, node);
  }

  private async makeSymlink(dir: DirRef<H>, base: string, path: string, member: TarMember): Promise<void> {
    // Stored exactly as written: "/usr/share/zoneinfo/UTC" and "../../x" are legal and mean
    // "inside the image" once the runtime pivots into it.
    const target = member.linkname;
    if (target === '' || target.includes('\0')) throw corrupt(this.label, `the symbolic link ${JSON.stringify(member.name)} has no usable target`);
    await this.remove(dir.path, dir.node, base);
    const node: ImageNode<H> = { kind: 'symlink', mode: SYMLINK_MODE, mtime: member.mtime, target, size: Buffer.byteLength(target), links: 1 };
    this.tree.attach(dir.node, base, node);
    await this.sink.symlink(path, node);
  }

  private async makeHardlink(dir: DirRef<H>, base: string, path: string, member: TarMember): Promise<void> {
    const raw = member.name;
    const targetParts = entryComponents(member.linkname, this.label, 'hard-link target');
    const targetBase = targetParts.pop();
    if (targetBase === undefined) throw unsafePath(this.label, raw, 'is a hard link to the root directory');
    // The target is an archive path: its parents must be real directories (no symlink is
    // followed), and it must be a file or symlink already in the image, this layer or lower.
    const find = () => {
      const targetDir = this.tree.resolveDir(targetParts, raw, undefined, false);
      return targetDir === undefined ? undefined : { path: relJoin(targetDir.path, targetBase), node: targetDir.node.children?.get(targetBase) };
    };
    const target = find();
    if (target?.node === undefined) {
      throw corrupt(this.label, `the hard link ${JSON.stringify(raw)} points to ${JSON.stringify(member.linkname)}, which is not in the image`);
    }
    if (target.node.kind === 'dir') throw unsafePath(this.label, raw, 'is a hard link to a directory or special file');
    if (target.path === path) return;
    await this.remove(dir.path, dir.node, base);
    // The removal may have taken the target with it (a link replacing its own parent).
    if (find()?.node !== target.node) {
      throw corrupt(this.label, `the hard link ${JSON.stringify(raw)} replaces the directory that holds its own target`);
    }
    target.node.links += 1;
    this.tree.attach(dir.node, base, target.node);
    await this.sink.hardlink(path, target.path, target.node);
  }

  private async makeFile(dir: DirRef<H>, base: string, path: string, member: TarMember, reader: TarReader): Promise<void> {
    await this.remove(dir.path, dir.node, base);
    if (hasSetId(member.mode)) this.notes.setId.add(member.name);
    const node: ImageNode<H> = { kind: 'file', mode: storedFileMode(member.mode), mtime: member.mtime, size: 0, links: 1 };
    this.tree.attach(dir.node, base, node);
    const content = await this.sink.file(path, node);
    const hash = createHash('sha256');
    let size = 0;
    for await (const piece of reader.content()) {
      if (typeof piece === 'number') {
        this.holeBytes += piece;
        if (this.holeBytes > this.maxHoleBytes) throw tooLarge(this.label, `its sparse files expand to more than ${this.maxHoleBytes} bytes`);
        await hashZeros(hash, piece);
        size += piece;
        await content.hole(piece);
      } else {
        hash.update(piece);
        size += piece.length;
        await content.write(piece);
      }
    }
    node.size = size;
    node.sha256 = hash.digest('hex');
    await content.end();
  }
}

async function hashZeros(hash: ReturnType<typeof createHash>, length: number): Promise<void> {
  let slices = 0;
  for (let left = length; left > 0; left -= ZEROS.length) {
    hash.update(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
    if (++slices % HOLE_SLICE === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
