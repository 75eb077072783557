// Checks node-tar's Parser does not make for us: a second compression layer, NUL bytes and
// newlines smuggled into PAX/GNU names, global path overrides, trailing partial headers.

import type { LayerLabel } from './unpack-errors.js';
import { corrupt, unsafePath } from './unpack-errors.js';

/**
 * The Parser sniffs gzip (and zstd) magic at the start of its input and would silently
 * decompress a second time: refuse a tar stream that begins like a compressed one.
 */
export function assertPlainTar(head: Buffer, label: LayerLabel): void {
  const gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  const zstd = head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528;
  if (gzip || zstd) {
    throw corrupt(label, 'its uncompressed content is itself compressed (mislabelled media type)');
  }
}

/**
 * Raw body of a PAX ("x"/"g") or GNU long-name ("L"/"K") header. node-tar cuts values at
 * the first NUL (CVE-2026-59875) and drops PAX records whose value holds a newline, so the
 * name it reports would differ from what other tools read: refuse both.
 */
export function checkMeta(body: string, label: LayerLabel): void {
  const records = paxRecords(body);
  if (records !== undefined) {
    for (const record of records) {
      if ((record.key === 'path' || record.key === 'linkpath') && /[\0\n]/.test(record.value)) {
        throw unsafePath(label, record.value.replace(/\0/g, '\\0'), `has a NUL byte or newline in its PAX ${record.key}`);
      }
    }
    return;
  }
  const nul = body.indexOf('\0');
  if (nul >= 0 && /[^\0]/.test(body.slice(nul))) {
    throw unsafePath(label, body.slice(0, nul), 'has a NUL byte inside its extended name');
  }
}

/**
 * PAX records ("<len> <key>=<value>\n", the length counting the whole record in bytes),
 * or undefined if the body is not a well-formed record list (then it is a GNU long name).
 */
export function paxRecords(body: string): Array<{ key: string; value: string }> | undefined {
  const bytes = Buffer.from(body, 'utf8');
  const records: Array<{ key: string; value: string }> = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes[at] === 0) {
      break; // NUL padding after the last record
    }
    const space = bytes.indexOf(0x20, at);
    const length = space < 0 ? NaN : Number(bytes.subarray(at, space).toString('latin1'));
    if (!Number.isSafeInteger(length) || length <= space - at + 1 || at + length > bytes.length || bytes[at + length - 1] !== 0x0a) {
      return undefined;
    }
    const record = bytes.subarray(space + 1, at + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    if (equals <= 0) {
      return undefined;
    }
    records.push({ key: record.slice(0, equals), value: record.slice(equals + 1) });
    at += length;
  }
  return records;
}

/** A global PAX header may not rename entries: node-tar would apply its linkpath to every link. */
export function checkGlobalHeader(global: { path?: unknown; linkpath?: unknown } | undefined, label: LayerLabel): void {
  if (global !== undefined && (global.path !== undefined || global.linkpath !== undefined)) {
    throw corrupt(label, 'a global PAX header sets a path or link target for every later entry');
  }
}
