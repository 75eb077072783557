// The permission bits envlock stores (and digests) for unpacked files and directories: sealed,
// so nothing is writable, nothing is setuid or setgid, and the owner can always read and walk.

/** tar's defaults when a header carries no usable mode. */
const DEFAULT_FILE_MODE = 0o644;
const DEFAULT_DIR_MODE = 0o755;

/** Every write bit, setuid and setgid: what a stored mode never has. */
const FILE_KEEP = 0o555;
const DIR_KEEP = 0o1555;

/**
 * A regular file keeps its declared read/execute bits; every write bit, setuid, setgid and
 * sticky go, and owner-read is added so the store can be hashed and copied by the user who
 * owns it (RHEL's 0000 /etc/shadow).
 */
export function storedFileMode(declared: number | undefined): number {
  const mode = Number.isInteger(declared) ? (declared as number) : DEFAULT_FILE_MODE;
  return (mode & FILE_KEEP) | 0o400;
}

/**
 * A directory keeps its read/execute bits and is always owner r-x (Charliecloud does the same:
 * a 0500 or 0000 directory would stop the owner from walking, hashing or deleting the tree).
 * The sticky bit stays, as the image declared it (/tmp 1777 is stored 1555), even though
 * the write bits it qualifies are gone; setgid goes.
 */
export function storedDirMode(declared: number | undefined): number {
  const mode = Number.isInteger(declared) ? (declared as number) : DEFAULT_DIR_MODE;
  return (mode & DIR_KEEP) | 0o500;
}

/** Whether a declared mode asked for setuid or setgid (reported, never honoured). */
export function hasSetId(declared: number | undefined): boolean {
  return Number.isInteger(declared) && ((declared as number) & 0o6000) !== 0;
}

/** Symlinks are always 0777 on Linux; the digest records them so. */
export const SYMLINK_MODE = 0o777;
