// Builders for hostile and malformed layer archives, and a sandbox that proves nothing outside a
// rootfs changed: a sentinel directory with a canary file beside the rootfs, snapshotted before/after.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { tarEntries, type TarEntry } from './tar-writer.js';

export interface Sandbox {
  /** The private temp parent (0700) holding everything below. */
  parent: string;
  rootfs: string;
  /** A sentinel directory beside the rootfs that no layer may touch. */
  outside: string;
  /** A file inside `outside` that attacks aim at. */
  canary: string;
  cleanup(): void;
}

export const CANARY_TEXT = 'canary: must never change\n';

export function makeSandbox(): Sandbox {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'envlock-unpack-'));
  fs.chmodSync(parent, 0o700);
  const rootfs = path.join(parent, 'rootfs');
  const outside = path.join(parent, 'outside');
  fs.mkdirSync(rootfs, { mode: 0o700 });
  fs.mkdirSync(outside, { mode: 0o755 });
  const canary = path.join(outside, 'canary.txt');
  fs.writeFileSync(canary, CANARY_TEXT, { mode: 0o644 });
  fs.mkdirSync(path.join(outside, 'sub'), { mode: 0o755 });
  fs.writeFileSync(path.join(outside, 'sub', 'keep.txt'), 'keep\n');
  return {
    parent,
    rootfs,
    outside,
    canary,
    cleanup() {
      // Make every directory writable first so 0500/0000 modes never block the clean-up.
      const unlock = (dir: string): void => {
        try {
          fs.chmodSync(dir, 0o700);
          for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
            if (entry.isDirectory()) unlock(path.join(dir, entry.name));
          }
        } catch {
          // best effort
        }
      };
      unlock(parent);
      fs.rmSync(parent, { recursive: true, force: true });
    },
  };
}

/**
 * Everything under the sandbox parent except the rootfs: path, type, mode, link count, size,
 * content hash, link target and mtime. Two equal snapshots mean nothing outside changed.
 */
export function snapshotOutside(box: Sandbox): string {
  const lines: string[] = [];
  const walk = (dir: string): void => {
    for (const name of fs.readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      if (full === box.rootfs) continue;
      const st = fs.lstatSync(full);
      let extra = '';
      if (st.isFile()) extra = createHash('sha256').update(fs.readFileSync(full)).digest('hex');
      if (st.isSymbolicLink()) extra = `-> ${fs.readlinkSync(full)}`;
      lines.push(`${path.relative(box.parent, full)} ${st.mode.toString(8)} n${st.nlink} s${st.size} m${st.mtimeMs} ${extra}`);
      if (st.isDirectory()) walk(full);
    }
  };
  walk(box.parent);
  return lines.join('\n');
}

/** The rootfs as "path type mode [target|content]" lines, sorted, for exact comparisons. */
export function listRootfs(rootfs: string): string[] {
  const lines: string[] = [];
  const walk = (dir: string): void => {
    for (const name of fs.readdirSync(dir)) {
      const full = path.join(dir, name);
      const rel = path.relative(rootfs, full);
      const st = fs.lstatSync(full);
      const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
      if (st.isDirectory()) {
        lines.push(`${rel}/ ${mode}`);
        walk(full);
      } else if (st.isSymbolicLink()) {
        lines.push(`${rel} -> ${fs.readlinkSync(full)}`);
      } else if (st.isFile()) {
        lines.push(`${rel} ${mode} ${JSON.stringify(fs.readFileSync(full, 'utf8'))}`);
      } else {
        lines.push(`${rel} other`);
      }
    }
  };
  walk(rootfs);
  return lines.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A readable stream of the buffer in small chunks, so parsing crosses chunk boundaries. */
export function streamOf(data: Buffer, chunkSize = 4096): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; at += chunkSize) chunks.push(data.subarray(at, at + chunkSize));
  return Readable.from(chunks);
}

export function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

// --- zstd frames built by hand (RFC 8878 section 3.1.1): valid zstd that any decoder must read ---

const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
/** Frame header descriptor 0 (no checksum, no dictionary, window descriptor follows), window 2^17. */
const ZSTD_FRAME_HEADER = Buffer.from([0x00, 7 << 3]);
const ZSTD_MAX_BLOCK = 128 * 1024;

function blockHeader(last: boolean, type: 0 | 1, size: number): Buffer {
  const value = (last ? 1 : 0) | (type << 1) | (size << 3);
  return Buffer.from([value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff]);
}

/** A zstd frame that stores `data` in raw (uncompressed) blocks. */
export function zstdRawFrame(data: Buffer): Buffer {
  const parts: Buffer[] = [ZSTD_MAGIC, ZSTD_FRAME_HEADER];
  if (data.length === 0) parts.push(blockHeader(true, 0, 0));
  for (let at = 0; at < data.length; at += ZSTD_MAX_BLOCK) {
    const piece = data.subarray(at, at + ZSTD_MAX_BLOCK);
    parts.push(blockHeader(at + ZSTD_MAX_BLOCK >= data.length, 0, piece.length), piece);
  }
  return Buffer.concat(parts);
}

/** A zstd bomb: `blocks` RLE blocks of 128 KiB zero bytes each, 4 bytes apiece on the wire. */
export function zstdRleBomb(prefix: Buffer, blocks: number): Buffer {
  const parts: Buffer[] = [ZSTD_MAGIC, ZSTD_FRAME_HEADER, blockHeader(false, 0, prefix.length), prefix];
  for (let i = 0; i < blocks; i++) parts.push(blockHeader(i === blocks - 1, 1, ZSTD_MAX_BLOCK), Buffer.from([0]));
  return Buffer.concat(parts);
}

// --- raw blocks the tar writer will not produce ---

/** A GNU long-name ("L") header whose name holds a NUL followed by more bytes, then the entry. */
export function gnuLongNameWithNul(name: string, entry: TarEntry): Buffer {
  const body = Buffer.from(`${name}\0`, 'latin1');
  const tar = tarEntries([{ path: '././@LongLink', type: 'file', content: body }, entry]);
  tar[156] = 'L'.charCodeAt(0);
  fixChecksum(tar, 0);
  return tar;
}

/** Recomputes the checksum of the header block at `offset` after editing it. */
export function fixChecksum(tar: Buffer, offset: number): void {
  tar.fill(0x20, offset + 148, offset + 156);
  let sum = 0;
  for (let i = offset; i < offset + 512; i++) sum += tar[i] as number;
  tar.write(sum.toString(8).padStart(6, '0') + '\0 ', offset + 148, 8, 'ascii');
}

/** An archive cut off inside the data of its second entry. */
export function truncatedInsideData(): Buffer {
  const tar = tarEntries([
    { path: 'a.txt', type: 'file', content: 'complete\n' },
    { path: 'big.bin', type: 'file', content: Buffer.alloc(4096, 7) },
  ]);
  return tar.subarray(0, 512 + 512 + 512 + 1000);
}

/** An archive that ends with half a header block and no end-of-archive marker. */
export function truncatedInsideHeader(): Buffer {
  const tar = tarEntries([
    { path: 'a.txt', type: 'file', content: 'complete\n' },
    { path: 'b.txt', type: 'file', content: 'second\n' },
  ]);
  return tar.subarray(0, 1024 + 300);
}

/** A header with a wrong checksum (a flipped byte in the name). */
export function badChecksum(): Buffer {
  const tar = tarEntries([{ path: 'ok.txt', type: 'file', content: 'x' }]);
  tar[0] = 'O'.charCodeAt(0);
  return tar;
}

/** A header whose size field claims far more data than follows. */
export function hugeSizeHeader(): Buffer {
  const tar = tarEntries([{ path: 'huge.bin', type: 'file', content: 'tiny' }]);
  tar.write('77777777777\0', 124, 12, 'ascii');
  fixChecksum(tar, 0);
  return tar;
}

/**
 * A zstd frame declaring a 2^windowLog-byte window (RFC 8878 3.1.1.1.2: exponent windowLog-10,
 * mantissa 0) that stores `data` one byte per raw block: tiny on the wire, but a decoder without
 * a window limit must reserve the whole window first (issue 12.3's 80 KB, 1 GiB frame).
 */
export function zstdWideWindowFrame(data: Buffer, windowLog: number): Buffer {
  const parts: Buffer[] = [ZSTD_MAGIC, Buffer.from([0x00, (windowLog - 10) << 3])];
  for (let i = 0; i < data.length; i++) parts.push(blockHeader(i === data.length - 1, 0, 1), data.subarray(i, i + 1));
  return Buffer.concat(parts);
}
