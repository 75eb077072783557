// Reading a file that only the caller can have written. The fast paths' answer records, the
// prepared-run cache and the run path's code cache are acted on as they are found, so each is
// read only when it is a regular file (not a link, not a FIFO) of the caller's, without the mode
// bits that would let someone else have changed it, and of sane size (docs/security.md).
// readRegularFile is the same read without the ownership rules (a project's own files).
//
// Both read with one readSync into a buffer of the size fstat gave: readFileSync stats again and
// compiles a few more of Node's functions, which a prepared run pays for at every start.

import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';

export interface OwnFileRules {
  /** Mode bits the file must not have: 0o022 (no one else may write it), 0o077 (private). */
  forbiddenMode: number;
  /** A bigger file is not ours to read. */
  maxBytes?: number;
}

/** The bytes of `file` when it passes the rules, else undefined (missing, odd, foreign, torn). */
export function readOwnFile(file: string, rules: OwnFileRules): Buffer | undefined {
  return readChecked(file, constants.O_NOFOLLOW, (st) => st.uid === process.getuid?.() && (st.mode & rules.forbiddenMode) === 0 && (rules.maxBytes === undefined || st.size <= rules.maxBytes));
}

/** The bytes of the regular file `file` (links followed), else undefined (missing, odd, over `maxBytes`, torn). */
export function readRegularFile(file: string, maxBytes: number): Buffer | undefined {
  return readChecked(file, 0, (st) => st.size <= maxBytes);
}

function readChecked(file: string, flags: number, acceptable: (st: Stats) => boolean): Buffer | undefined {
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
    const bytes = Buffer.allocUnsafeSlow(st.size);
    let length = 0;
    for (let n = -1; n !== 0 && length < st.size; length += n) n = readSync(fd, bytes, length, st.size - length, null);
    // A file that shrank while it was read is torn: not an answer.
    return length === st.size ? bytes : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
