// One 512-byte tar header block, read the way Go's archive/tar reads it (reader.go readHeader,
// strconv.go parseNumeric/parseOctal, format.go getFormat): the same formats, checksums,
// number encodings and name prefixes, so envlock sees the entries containerd and umoci see.

export const BLOCK = 512;

export type TarFormat = 'v7' | 'ustar' | 'gnu' | 'star';

/** The fields of a header block; names and link names are still raw bytes here. */
export interface RawHeader {
  format: TarFormat;
  name: Buffer;
  linkname: Buffer;
  typeflag: string;
  mode: number;
  size: number;
  mtime: number;
}

/** A header field that no reader can make sense of; the caller turns it into LAYER_CORRUPT. */
export class HeaderError extends Error {}

/** Bytes up to the first NUL (Go's parser.parseString). */
export function cString(field: Buffer): Buffer {
  const nul = field.indexOf(0);
  return nul < 0 ? field : field.subarray(0, nul);
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) {
    if (block[i] !== 0) {
      return false;
    }
  }
  return true;
}

/**
 * A numeric field: base-256 (two's complement, big-endian) when the first byte has its top bit
 * set, else octal with leading and trailing spaces and NULs ignored. Values beyond 2^53 cannot
 * be real sizes or times here and are refused like Go refuses overflow.
 */
export function parseNumeric(field: Buffer, what: string): number {
  if (field.length > 0 && ((field[0] as number) & 0x80) !== 0) {
    const negative = ((field[0] as number) & 0x40) !== 0;
    let value = 0n;
    for (let i = 0; i < field.length; i++) {
      let byte = field[i] as number;
      if (negative) {
        byte ^= 0xff;
      }
      if (i === 0) {
        byte &= 0x7f;
      }
      value = (value << 8n) | BigInt(byte);
      if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new HeaderError(`the ${what} field holds a number too large to be real`);
      }
    }
    return negative ? -Number(value) - 1 : Number(value);
  }
  return parseOctal(field, what);
}

function parseOctal(field: Buffer, what: string): number {
  let start = 0;
  let end = field.length;
  while (start < end && (field[start] === 0x20 || field[start] === 0)) start++;
  while (end > start && (field[end - 1] === 0x20 || field[end - 1] === 0)) end--;
  const text = cString(field.subarray(start, end)).toString('latin1');
  if (text === '') {
    return 0;
  }
  if (!/^[0-7]+$/.test(text)) {
    throw new HeaderError(`the ${what} field ${JSON.stringify(text)} is not an octal number`);
  }
  const value = parseInt(text, 8);
  if (value > Number.MAX_SAFE_INTEGER) {
    throw new HeaderError(`the ${what} field holds a number too large to be real`);
  }
  return value;
}

/** The format by magic, after the checksum (unsigned or signed sum, as Go accepts) matched. */
function formatOf(block: Buffer): TarFormat | undefined {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : (block[i] as number);
    unsigned += byte;
    signed += byte < 0x80 ? byte : byte - 0x100;
  }
  let recorded: number;
  try {
    recorded = parseOctal(block.subarray(148, 156), 'checksum');
  } catch {
    return undefined;
  }
  if (recorded !== unsigned && recorded !== signed) {
    return undefined;
  }
  const magic = block.toString('latin1', 257, 263);
  if (magic === 'ustar\0') {
    return block.toString('latin1', 508, 512) === 'tar\0' ? 'star' : 'ustar';
  }
  if (magic === 'ustar ' && block.toString('latin1', 263, 265) === ' \0') {
    return 'gnu';
  }
  return 'v7';
}

/** Parses a header block that is not all zeros; a bad checksum or field is a HeaderError. */
export function parseHeader(block: Buffer): RawHeader {
  const format = formatOf(block);
  if (format === undefined) {
    throw new HeaderError('a header block has a wrong checksum (the archive is damaged or is not a tar)');
  }
  let name = cString(block.subarray(0, 100));
  const header: RawHeader = {
    format,
    name,
    linkname: cString(block.subarray(157, 257)),
    typeflag: String.fromCharCode(block[156] as number),
    mode: parseNumeric(block.subarray(100, 108), 'mode'),
    size: parseNumeric(block.subarray(124, 136), 'size'),
    mtime: parseNumeric(block.subarray(136, 148), 'mtime'),
  };
  parseNumeric(block.subarray(108, 116), 'uid');
  parseNumeric(block.subarray(116, 124), 'gid');
  let prefix: Buffer = Buffer.alloc(0);
  if (format !== 'v7') {
    parseNumeric(block.subarray(329, 337), 'devmajor');
    parseNumeric(block.subarray(337, 345), 'devminor');
  }
  if (format === 'ustar') {
    prefix = cString(block.subarray(345, 500));
  } else if (format === 'star') {
    prefix = cString(block.subarray(345, 476));
  } else if (format === 'gnu' && !gnuTimesParse(block)) {
    // Go before 1.8 wrote a ustar prefix into GNU headers; Go still reads such files (issue 12594).
    const legacy = cString(block.subarray(345, 500));
    if (legacy.every((byte) => byte < 0x80)) {
      prefix = legacy;
    }
  }
  if (prefix.length > 0) {
    name = Buffer.concat([prefix, Buffer.from('/'), name]);
  }
  header.name = name;
  return header;
}

function gnuTimesParse(block: Buffer): boolean {
  try {
    for (const at of [345, 357]) {
      if (block[at] !== 0) {
        parseNumeric(block.subarray(at, at + 12), 'time');
      }
    }
    return true;
  } catch {
    return false;
  }
}
