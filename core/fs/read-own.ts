// Reading a file that only the caller can have written. The fast paths' answer records, the
// prepared-run cache and the run path's code cache are acted on as they are found, so each is
// read only when it is a regular file (not a link, not a FIFO) of the caller's, without the mode
// bits that would let someone else have changed it, and of sane size (docs/security.md).

import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';

export interface OwnFileRules {
  /** Mode bits the file must not have: 0o022 (no one else may write it), 0o077 (private). */
  forbiddenMode: number;
  /** A bigger file is not ours to read. */
  maxBytes?: number;
}

/** The bytes of `file` when it passes the rules, else undefined (missing, odd, foreign, torn). */
export function readOwnFile(file: string, rules: OwnFileRules): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== process.getuid?.() || (st.mode & rules.forbiddenMode) !== 0) return undefined;
    if (rules.maxBytes !== undefined && st.size > rules.maxBytes) return undefined;
    const bytes = readFileSync(fd);
    // A file that changed size while it was read is torn: not an answer.
    return bytes.length === st.size ? bytes : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
