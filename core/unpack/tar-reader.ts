// A streaming tar reader that sees what Go's archive/tar (containerd, umoci, skopeo, scanners)
// sees: PAX and GNU long-name headers merged the same way, header-only types carrying no data
// whatever their size says, sparse files in every GNU encoding. Names must be valid UTF-8.

import type { ByteSource } from './byte-source.js';
import { isXattrKey, parsePax, paxInteger, paxTime, type PaxRecords } from './pax-records.js';
import { oldGnuExtension, oldGnuHeader, paxSparseMap0x, paxSparseMap1x0, paxSparseSize, paxSparseVersion, validateSparse, type Segment } from './sparse-map.js';
import { BLOCK, cString, HeaderError, isZeroBlock, parseHeader } from './tar-header.js';
import { corrupt, notUtf8, type LayerLabel } from './unpack-errors.js';

export type MemberKind = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'other';

export interface TarMember {
  name: string;
  linkname: string;
  typeflag: string;
  kind: MemberKind;
  mode: number;
  /** Seconds since the epoch (a PAX mtime may carry a fraction). */
  mtime: number;
  /** Logical size of a file's content, holes included. */
  size: number;
  /** Data runs of a sparse file; undefined for a dense one. */
  sparse: Segment[] | undefined;
  /** Keys of extended-attribute records (SCHILY.xattr.*, LIBARCHIVE.xattr.*), which envlock ignores. */
  xattrs: string[];
}

/** Go's maxSpecialFileSize: PAX and GNU long-name bodies larger than this are refused. */
const MAX_META = 1 << 20;
/** Largest piece of file data handed out at once. */
const MAX_PIECE = 1 << 20;
/** Go's isHeaderOnlyType: these never have data, whatever their size field says. */
const HEADER_ONLY = new Set(['1', '2', '3', '4', '5', '6']);
const KINDS: Record<string, MemberKind> = { '0': 'file', '7': 'file', S: 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block', '5': 'dir', D: 'dir', '6': 'fifo' };
/** Global PAX records that would change how later entries are read: refused (tools disagree). */
const GLOBAL_REFUSED = ['path', 'linkpath', 'size'];
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class TarReader {
  /** Data bytes of the current member not yet read, and the padding after them. */
  private remaining = 0;
  private padding = 0;
  private current: TarMember | undefined;

  constructor(
    private readonly source: ByteSource,
    private readonly label: LayerLabel,
  ) {}

  /** The next member, or undefined at the end of the archive; unread data of the last one is skipped. */
  async next(): Promise<TarMember | undefined> {
    await this.skipRest();
    try {
      return await this.readMember();
    } catch (error) {
      throw error instanceof HeaderError ? corrupt(this.label, error.message) : error;
    }
  }

  /** The current member's content in order: Buffers of data, and numbers for holes of that many zeros. */
  async *content(): AsyncGenerator<Buffer | number> {
    const member = this.current;
    if (member === undefined) return;
    let position = 0;
    for (const segment of member.sparse ?? [{ offset: 0, length: member.size }]) {
      if (segment.offset > position) {
        yield segment.offset - position;
      }
      let left = segment.length;
      while (left > 0) {
        const piece = await this.data(Math.min(left, MAX_PIECE), member.name);
        left -= piece.length;
        yield piece;
      }
      position = segment.offset + segment.length;
    }
    if (member.size > position) {
      yield member.size - position;
    }
  }

  private async data(max: number, name: string): Promise<Buffer> {
    const piece = await this.source.some(Math.min(max, this.remaining));
    if (piece.length === 0) {
      throw corrupt(this.label, `it ends inside the data of ${JSON.stringify(name)} (truncated)`);
    }
    this.remaining -= piece.length;
    return piece;
  }

  private async skipRest(): Promise<void> {
    const want = this.remaining + this.padding;
    this.remaining = 0;
    this.padding = 0;
    if (want > 0 && (await this.source.skip(want)) < want) {
      throw corrupt(this.label, `it ends inside the data of ${JSON.stringify(this.current?.name ?? '')} (truncated)`);
    }
    this.current = undefined;
  }

  /** One block; undefined at a clean end of input; a partial block is truncation. */
  private async block(): Promise<Buffer | undefined> {
    const block = await this.source.read(BLOCK);
    if (block.length === 0) return undefined;
    if (block.length < BLOCK) throw corrupt(this.label, 'it ends in the middle of a 512-byte block (truncated)');
    return block;
  }

  private async readMember(): Promise<TarMember | undefined> {
    let pax: PaxRecords | undefined;
    let longName: Buffer | undefined;
    let longLink: Buffer | undefined;
    for (;;) {
      const block = await this.block();
      if (block === undefined || isZeroBlock(block)) {
        if (pax !== undefined || longName !== undefined || longLink !== undefined) {
          throw new HeaderError('it ends right after an extended header');
        }
        // Go: one zero block then the end, or two zero blocks, end the archive; a zero block
        // followed by anything else is an error.
        const second = block === undefined ? undefined : await this.block();
        if (second !== undefined && !isZeroBlock(second)) {
          throw new HeaderError('a zero block is followed by another header');
        }
        return undefined;
      }
      const raw = parseHeader(block);
      if (raw.size < 0) throw new HeaderError('a header has a negative size');
      const physical = HEADER_ONLY.has(raw.typeflag) ? 0 : raw.size;
      if (raw.typeflag === 'x' || raw.typeflag === 'g') {
        const records = parsePax(await this.special(physical, raw.name));
        if (raw.typeflag === 'x') pax = records;
        else this.checkGlobal(records);
        continue;
      }
      if (raw.typeflag === 'L' || raw.typeflag === 'K') {
        const name = this.longName(await this.special(physical, raw.name));
        if (raw.typeflag === 'L') longName = name;
        else longLink = name;
        continue;
      }
      return this.member(block, raw, pax ?? new Map(), longName, longLink);
    }
  }

  /** The body of a PAX or GNU long-name header. */
  private async special(size: number, name: Buffer): Promise<Buffer> {
    if (size > MAX_META) {
      throw new HeaderError(`the extended header ${JSON.stringify(name.toString('latin1'))} is larger than 1 MiB`);
    }
    const body = await this.source.read(size);
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (body.length < size || (await this.source.skip(pad)) < pad) {
      throw corrupt(this.label, 'it ends inside an extended header (truncated)');
    }
    return body;
  }

  /** Go cuts a GNU long name at its first NUL; bytes after it would mean different names to different tools. */
  private longName(body: Buffer): Buffer {
    const name = cString(body);
    if (body.subarray(name.length).some((byte) => byte !== 0)) {
      throw new HeaderError(`the GNU long name ${JSON.stringify(name.toString('latin1'))} has a NUL byte inside it`);
    }
    return name;
  }

  private checkGlobal(records: PaxRecords): void {
    for (const key of GLOBAL_REFUSED) {
      if ((records.get(key)?.length ?? 0) > 0) {
        throw new HeaderError(`a global PAX header sets ${key} for every later entry, which tools read differently`);
      }
    }
  }

  private async member(block: Buffer, raw: ReturnType<typeof parseHeader>, pax: PaxRecords, longName?: Buffer, longLink?: Buffer): Promise<TarMember> {
    let name = raw.name;
    let linkname = raw.linkname;
    let size = raw.size;
    let mtime = raw.mtime;
    const xattrs: string[] = [];
    // Go's mergePAX: an empty value keeps the header's own field.
    for (const [key, value] of pax) {
      if (value.length === 0) continue;
      if (key === 'path') name = value;
      else if (key === 'linkpath') linkname = value;
      else if (key === 'size') size = paxInteger(value, 'size') as number;
      else if (key === 'mtime') mtime = paxTime(value, 'mtime');
      else if (key === 'atime' || key === 'ctime') paxTime(value, key);
      else if (key === 'uid' || key === 'gid') paxInteger(value, key);
      else if (isXattrKey(key)) xattrs.push(key);
    }
    if (longName !== undefined) name = longName;
    if (longLink !== undefined) linkname = longLink;
    let typeflag = raw.typeflag;
    if (typeflag === '\0') {
      typeflag = name[name.length - 1] === 0x2f ? '5' : '0'; // old archives mark directories by a slash
    }
    if (size < 0) throw new HeaderError('a header has a negative size');
    this.remaining = HEADER_ONLY.has(typeflag) ? 0 : size;
    this.padding = (BLOCK - (this.remaining % BLOCK)) % BLOCK;
    let sparse: Segment[] | undefined;
    if (typeflag === 'S') {
      if (raw.format !== 'gnu') throw new HeaderError('an old GNU sparse header is not in GNU format');
      const old = oldGnuHeader(block);
      sparse = old.segments;
      for (let more = old.extended; more; ) {
        const extension = await this.block();
        if (extension === undefined) throw corrupt(this.label, 'it ends inside a sparse header (truncated)');
        more = oldGnuExtension(extension, sparse);
      }
      size = old.realSize;
    } else {
      const version = paxSparseVersion(pax);
      if (version !== undefined) {
        if (HEADER_ONLY.has(typeflag)) throw new HeaderError('a link or directory header carries a sparse map');
        const realName = pax.get('GNU.sparse.name');
        if (realName !== undefined && realName.length > 0) name = realName;
        if (version === '1.0') {
          const map = await paxSparseMap1x0(() => this.mapBlock());
          sparse = map.segments;
        } else {
          sparse = paxSparseMap0x(pax);
        }
        size = paxSparseSize(pax) ?? size;
      }
    }
    if (sparse !== undefined) {
      validateSparse(sparse, size);
      const stored = sparse.reduce((sum, segment) => sum + segment.length, 0);
      if (stored !== this.remaining) {
        throw new HeaderError(`the sparse file ${JSON.stringify(name.toString('latin1'))} stores ${this.remaining} data bytes but its map names ${stored}`);
      }
    }
    this.current = {
      name: this.text(name, name, 'name'),
      linkname: this.text(linkname, name, 'link target'),
      typeflag,
      kind: KINDS[typeflag] ?? 'other',
      mode: raw.mode & 0o7777,
      mtime,
      size: HEADER_ONLY.has(typeflag) ? 0 : size,
      sparse,
      xattrs,
    };
    return this.current;
  }

  /** One block of a PAX 1.0 sparse map, taken from the member's own data. */
  private async mapBlock(): Promise<Buffer> {
    if (this.remaining < BLOCK) throw new HeaderError('a PAX 1.0 sparse map runs past the data of its file');
    const block = await this.source.read(BLOCK);
    if (block.length < BLOCK) throw corrupt(this.label, 'it ends inside a sparse map (truncated)');
    this.remaining -= BLOCK;
    return block;
  }

  private text(bytes: Buffer, entry: Buffer, what: string): string {
    try {
      return utf8.decode(bytes);
    } catch {
      throw notUtf8(this.label, entry, what);
    }
  }
}
