// A hand-written ustar/pax tar writer for tests: it writes exactly the entries it is given, hostile
// ones included (`..` and absolute paths, link escapes, device nodes, setuid modes, whiteouts, NUL
// bytes), which a real archiver would refuse or normalise. Format: POSIX.1-2001 pax (ustar header).

import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface TarEntry {
  /** Written byte for byte (no trailing slash is added to directories). */
  path: string;
  type: TarEntryType;
  /** Permission and set-id bits; default 0o644 for files, 0o755 for directories, 0o777 for links. */
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  /** Seconds since the epoch; default 0 so archives are reproducible. */
  mtime?: number;
  content?: Buffer | string;
  linkTarget?: string;
  devMajor?: number;
  devMinor?: number;
  /** Extra pax records (key → value) written in an extended header before the entry. */
  paxHeaders?: Record<string, string>;
  /** Overrides the type flag byte, to craft entries of types no writer should produce. */
  typeflag?: string;
}

const TYPEFLAG: Record<TarEntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

const BLOCK = 512;
// Largest value an 11-digit octal field can hold (ustar numeric fields, POSIX pax "ustar Interchange Format").
const MAX_OCTAL_11 = 0o77777777777;
const MAX_OCTAL_7 = 0o7777777;

function defaultMode(type: TarEntryType): number {
  if (type === 'dir') return 0o755;
  if (type === 'symlink' || type === 'hardlink') return 0o777;
  return 0o644;
}

function writeString(header: Buffer, offset: number, length: number, value: string): void {
  Buffer.from(value, 'utf8').copy(header, offset, 0, length);
}

function writeOctal(header: Buffer, offset: number, length: number, value: number): void {
  header.write(value.toString(8).padStart(length - 1, '0') + '\0', offset, length, 'ascii');
}

/** One pax record: "<len> <key>=<value>\n", where <len> counts the whole record including itself. */
function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body);
  let length = bodyLength + 1;
  while (String(length).length + bodyLength !== length) length = String(length).length + bodyLength;
  return Buffer.from(`${length}${body}`, 'utf8');
}

function padToBlock(data: Buffer): Buffer {
  const rest = data.length % BLOCK;
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(BLOCK - rest)]);
}

interface HeaderFields {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  uname: string;
  gname: string;
  devMajor: number;
  devMinor: number;
}

function header(f: HeaderFields): Buffer {
  const h = Buffer.alloc(BLOCK);
  writeString(h, 0, 100, f.name);
  writeOctal(h, 100, 8, f.mode);
  writeOctal(h, 108, 8, f.uid);
  writeOctal(h, 116, 8, f.gid);
  writeOctal(h, 124, 12, f.size);
  writeOctal(h, 136, 12, f.mtime);
  h.write(' '.repeat(8), 148, 8, 'ascii');
  h.write(f.typeflag.slice(0, 1), 156, 1, 'latin1');
  writeString(h, 157, 100, f.linkname);
  h.write('ustar\u000000', 257, 8, 'latin1');
  writeString(h, 265, 32, f.uname);
  writeString(h, 297, 32, f.gname);
  writeOctal(h, 329, 8, f.devMajor);
  writeOctal(h, 337, 8, f.devMinor);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

/** The blocks for one entry: an optional pax extended header, the ustar header, the padded data. */
function entryBlocks(entry: TarEntry): Buffer[] {
  const content = entry.content === undefined ? Buffer.alloc(0) : Buffer.from(entry.content);
  const size = entry.type === 'file' ? content.length : 0;
  const linkname = entry.linkTarget ?? '';
  const uid = entry.uid ?? 0;
  const gid = entry.gid ?? 0;
  const mtime = entry.mtime ?? 0;
  const pax: Record<string, string> = {};
  // Names longer than the 100-byte field go in a pax `path`/`linkpath` record (pax "Extended Header").
  if (Buffer.byteLength(entry.path) > 100) pax.path = entry.path;
  if (Buffer.byteLength(linkname) > 100) pax.linkpath = linkname;
  if (uid > MAX_OCTAL_7) pax.uid = String(uid);
  if (gid > MAX_OCTAL_7) pax.gid = String(gid);
  if (size > MAX_OCTAL_11) pax.size = String(size);
  Object.assign(pax, entry.paxHeaders ?? {});
  const blocks: Buffer[] = [];
  const paxKeys = Object.keys(pax);
  if (paxKeys.length > 0) {
    const data = Buffer.concat(paxKeys.map((key) => paxRecord(key, pax[key] ?? '')));
    const paxName = `PaxHeaders/${Buffer.from(entry.path).subarray(0, 80).toString('utf8').replace(/\0/g, '')}`;
    blocks.push(header({ name: paxName, mode: 0o644, uid: 0, gid: 0, size: data.length, mtime, typeflag: 'x', linkname: '', uname: '', gname: '', devMajor: 0, devMinor: 0 }));
    blocks.push(padToBlock(data));
  }
  blocks.push(
    header({
      name: entry.path,
      mode: (entry.mode ?? defaultMode(entry.type)) & 0o7777,
      uid: Math.min(uid, MAX_OCTAL_7),
      gid: Math.min(gid, MAX_OCTAL_7),
      size: Math.min(size, MAX_OCTAL_11),
      mtime,
      typeflag: entry.typeflag ?? TYPEFLAG[entry.type],
      linkname,
      uname: entry.uname ?? (uid === 0 ? 'root' : ''),
      gname: entry.gname ?? (gid === 0 ? 'root' : ''),
      devMajor: entry.devMajor ?? 0,
      devMinor: entry.devMinor ?? 0,
    }),
  );
  if (size > 0) blocks.push(padToBlock(content));
  return blocks;
}

/** An uncompressed tar archive of exactly these entries, in this order, ended by two zero blocks. */
export function tarEntries(entries: readonly TarEntry[]): Buffer {
  return Buffer.concat([...entries.flatMap(entryBlocks), Buffer.alloc(2 * BLOCK)]);
}

export function gzip(data: Buffer): Buffer {
  return gzipSync(data);
}

/** True when the `zstd` command-line tool is installed (no zstd encoder ships with Node 20). */
export function hasZstd(): boolean {
  return spawnSync('zstd', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** zstd-compresses with the `zstd` command-line tool; throws if it is missing. */
export function zstd(data: Buffer): Buffer {
  const result = spawnSync('zstd', ['-q', '-c', '-3'], { input: data, maxBuffer: 1 << 30 });
  if (result.status !== 0) throw new Error(`zstd failed (${result.error?.message ?? result.stderr.toString()})`);
  return result.stdout;
}
