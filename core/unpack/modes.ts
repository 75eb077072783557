// The permission bits envlock stores for unpacked files and directories: nothing writable
// by group or other, no setuid/setgid/sticky, and always usable by the owning user.

/** tar's defaults when a header carries no usable mode. */
const DEFAULT_FILE_MODE = 0o644;
const DEFAULT_DIR_MODE = 0o755;

/**
 * A regular file keeps its declared read/execute bits and owner-write; group/other write,
 * setuid, setgid and sticky are dropped, and owner-read is added so the store can be
 * hashed and copied by the user who owns it (RHEL's 0000 /etc/shadow).
 */
export function storedFileMode(declared: number | undefined): number {
  const mode = Number.isInteger(declared) ? (declared as number) : DEFAULT_FILE_MODE;
  return (mode & 0o755) | 0o400;
}

/**
 * A directory is always owner-rwx (Charliecloud does the same: a 0500 or 0000 directory
 * would stop the owner from walking, hashing or deleting the tree) and never group- or
 * other-writable; setgid and sticky are dropped.
 */
export function storedDirMode(declared: number | undefined): number {
  const mode = Number.isInteger(declared) ? (declared as number) : DEFAULT_DIR_MODE;
  return (mode & 0o755) | 0o700;
}

/** Whether a declared mode asked for setuid or setgid (reported, never honoured). */
export function hasSetId(declared: number | undefined): boolean {
  return Number.isInteger(declared) && ((declared as number) & 0o6000) !== 0;
}
