// Reading a file that only the caller can have written. The fast paths' answer records, the
// prepared-run cache and the run path's code cache are acted on as they are found, so each is
// read only when it is a regular file (not a link, not a FIFO) of the caller's, without the mode
// bits that would let someone else have changed it, and of sane size (docs/security.md).
// readRegularFile is the same read without the ownership rules (a project's own files).
//
// Bytes are read with one readSync into a buffer of the size fstat gave: readFileSync(fd) stats
// again and compiles a few more of Node's functions, which a prepared run pays for at every start.

import { closeSync, constants, fstatSync, openSync, readFileSync, readSync, type Stats } from 'node:fs';

export interface OwnFileRules {
  /** Mode bits the file must not have: 0o022 (no one else may write it), 0o077 (private). */
  forbiddenMode: number;
  /** A bigger file is not ours to read. */
  maxBytes?: number;
}

/** The bytes of `file` when it passes the rules, else undefined (missing, odd, foreign, torn). */
export function readOwnFile(file: string, rules: OwnFileRules): Buffer | undefined {
  return withChecked(file, constants.O_NOFOLLOW, (st) => ownedBy(st, rules), readWhole);
}

function ownedBy(st: Stats, rules: OwnFileRules): boolean {
  return st.uid === process.getuid?.() && (st.mode & rules.forbiddenMode) === 0 && (rules.maxBytes === undefined || st.size <= rules.maxBytes);
}

/**
 * The text of `file` (UTF-8) under the same rules, for a record read only as text: read by Node's
 * one-call UTF-8 reader, which the run path has already used, rather than into a buffer and then
 * decoded (Buffer#toString costs a fast run 0.1 ms the first time).
 */
export function readOwnText(file: string, rules: OwnFileRules): string | undefined {
  return withChecked(file, constants.O_NOFOLLOW, (st) => ownedBy(st, rules), (fd, st) => {
    const text = readFileSync(fd, 'utf8');
    // Torn when the bytes read are not fstat's size.
    return Buffer.byteLength(text) === st.size ? text : undefined;
  });
}

/** The bytes of the regular file `file` (links followed), else undefined (missing, odd, over `maxBytes`, torn). */
export function readRegularFile(file: string, maxBytes: number): Buffer | undefined {
  return withChecked(file, 0, (st) => st.size <= maxBytes, readWhole);
}

/** The file's bytes, read to fstat's size; undefined when it shrank meanwhile (torn). */
function readWhole(fd: number, st: Stats): Buffer | undefined {
  const bytes = Buffer.allocUnsafeSlow(st.size);
  let length = 0;
  for (let n = -1; n !== 0 && length < st.size; length += n) n = readSync(fd, bytes, length, st.size - length, null);
  return length === st.size ? bytes : undefined;
}

/** Opens `file`, and reads it with `read` when fstat says it is a regular file that is `acceptable`. */
function withChecked<T>(file: string, flags: number, acceptable: (st: Stats) => boolean, read: (fd: number, st: Stats) => T | undefined): T | undefined {
  let fd: number;
  try {
    // Non-blocking, so a FIFO put in the file's place does not hang the open; fstat then refuses it.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | flags);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || !acceptable(st)) return undefined;
    // A file whose size changed while it was read is torn: not an answer.
    return read(fd, st);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
