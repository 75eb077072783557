// PAX extended header records ("<len> <key>=<value>\n", POSIX pax "pax Extended Header"), parsed
// exactly as Go's archive/tar parsePAX does: a malformed record spoils the whole header, and
// GNU sparse 0.0's repeated offset/numbytes records are folded into one GNU.sparse.map.

import { HeaderError } from './tar-header.js';

export const SPARSE_MAP = 'GNU.sparse.map';
const SPARSE_OFFSET = 'GNU.sparse.offset';
const SPARSE_NUMBYTES = 'GNU.sparse.numbytes';

/** Keys whose values are names (compared as bytes later, decoded as UTF-8 by the reader). */
const NAME_KEYS = new Set(['path', 'linkpath', 'uname', 'gname']);

/** Records by key (the last of a repeated key wins); values stay raw bytes. */
export type PaxRecords = Map<string, Buffer>;

export function parsePax(body: Buffer): PaxRecords {
  const records: PaxRecords = new Map();
  const sparse: Buffer[] = [];
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(0x20, at);
    const lengthText = space < 0 ? '' : body.toString('latin1', at, space);
    const length = /^[+]?[0-9]+$/.test(lengthText) ? Number(lengthText) : NaN;
    if (!(length >= 5) || at + length > body.length || length <= space - at + 1) {
      throw new HeaderError('a PAX extended header has a malformed record length');
    }
    const end = at + length;
    if (body[end - 1] !== 0x0a) {
      throw new HeaderError('a PAX extended header record does not end in a newline');
    }
    const record = body.subarray(space + 1, end - 1);
    const equals = record.indexOf(0x3d);
    if (equals <= 0) {
      throw new HeaderError('a PAX extended header record has no key');
    }
    const key = record.toString('latin1', 0, equals);
    const value = record.subarray(equals + 1);
    // Go's validPAXRecord: no NUL in a name value, nor in any key.
    if ((NAME_KEYS.has(key) && value.includes(0)) || key.includes('\0')) {
      throw new HeaderError(`the PAX record ${JSON.stringify(key)} holds a NUL byte`);
    }
    if (key === SPARSE_OFFSET || key === SPARSE_NUMBYTES) {
      const expected = sparse.length % 2 === 0 ? SPARSE_OFFSET : SPARSE_NUMBYTES;
      if (key !== expected || value.includes(0x2c)) {
        throw new HeaderError('the GNU sparse 0.0 records of a PAX header are out of order');
      }
      sparse.push(value);
    } else {
      records.set(key, value);
    }
    at = end;
  }
  if (sparse.length > 0) {
    records.set(SPARSE_MAP, Buffer.from(sparse.map((value) => value.toString('latin1')).join(',')));
  }
  return records;
}

/** A decimal integer as Go's strconv.ParseInt(s, 10, 64) reads it (an optional sign). */
export function paxInteger(value: Buffer | undefined, what: string): number | undefined {
  if (value === undefined) {
    return undefined;
  }
  const text = value.toString('latin1');
  if (!/^[+-]?[0-9]+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new HeaderError(`the PAX ${what} ${JSON.stringify(text)} is not a usable integer`);
  }
  return Number(text);
}

/** A PAX time ("seconds[.fraction]", maybe negative) in seconds. */
export function paxTime(value: Buffer, what: string): number {
  const text = value.toString('latin1');
  if (!/^[+-]?[0-9]+(\.[0-9]*)?$/.test(text) || !Number.isFinite(Number(text))) {
    throw new HeaderError(`the PAX ${what} ${JSON.stringify(text)} is not a time`);
  }
  return Number(text);
}

/** Extended attributes in the two common spellings (GNU tar and star / libarchive). */
export function isXattrKey(key: string): boolean {
  return key.startsWith('SCHILY.xattr.') || key.startsWith('LIBARCHIVE.xattr.');
}
