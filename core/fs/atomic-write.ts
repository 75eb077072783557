// The one way envlock replaces a file: a fresh temporary file beside it (random name, created
// with O_EXCL|O_NOFOLLOW so a planted name or symlink is never written through), fsync, rename
// over the target (atomic within a filesystem, rename(2)), then fsync of the directory.

import { randomBytes } from 'node:crypto';
import { constants as FS } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from '../errors.js';

export interface AtomicWriteOptions {
  /** Mode for a new file, before the umask (default 0o644). */
  mode?: number;
  /** Keep the permissions of the file being replaced (a group-shared lockfile stays shared). */
  keepMode?: boolean;
  /** Leave the file, and its mtime, alone when it already holds exactly these bytes. */
  skipIfSame?: boolean;
  /** fsync the data and the directory (default true); caches that may be lost pass false. */
  durable?: boolean;
}

/** A name beside `target` that no one can predict: `.NAME.tmp-<24 hex>`. */
export function tempSibling(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${randomBytes(12).toString('hex')}`);
}

/** Whether a directory entry is one of tempSibling's names (left behind by a killed writer). */
export function isTempSibling(name: string): boolean {
  return /^\..*\.tmp-[0-9a-f]{24}$/.test(name);
}

/**
 * Readers see the old content or the new, never a torn file. Returns false when skipIfSame found
 * the bytes already there. Errors are the raw errno errors: callers name the object in their message.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<boolean> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const durable = options.durable ?? true;
  const current = options.skipIfSame || options.keepMode ? await fs.stat(file).catch(() => undefined) : undefined;
  if (options.skipIfSame && current?.size === bytes.length) {
    const old = await fs.readFile(file).catch(() => undefined);
    if (old !== undefined && Buffer.compare(old, bytes) === 0) return false;
  }
  const temp = tempSibling(file);
  const handle = await fs.open(temp, FS.O_WRONLY | FS.O_CREAT | FS.O_EXCL | FS.O_NOFOLLOW, options.mode ?? 0o644);
  try {
    try {
      if (options.keepMode && current !== undefined) await handle.chmod(current.mode & 0o7777);
      await handle.writeFile(bytes);
      if (durable) await handle.sync();
    } finally {
      // close(2) can report a deferred write error (NFS), so it is awaited inside the try.
      await handle.close();
    }
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
  if (durable) await fsyncDir(path.dirname(file));
  return true;
}

/**
 * fsync a directory so a create or rename inside it survives a crash (fsync(2): syncing a file
 * does not sync its directory entry). Filesystems that cannot fsync a directory (EINVAL), and
 * directories the caller may write but not open, are skipped: the data itself is already synced.
 */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, FS.O_RDONLY | FS.O_DIRECTORY);
    await handle.sync();
  } catch (error) {
    if (!SKIPPABLE.has(errnoCode(error) ?? '')) throw error;
  } finally {
    await handle?.close();
  }
}

const SKIPPABLE = new Set(['EINVAL', 'EISDIR', 'ENOTSUP', 'EOPNOTSUPP', 'EACCES', 'EPERM', 'EBADF']);
