// Small filesystem helpers the store needs for crash safety: read-only trees that their owner
// can still delete, sealing, free space, and errno -> EnvlockError mapping.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, constants as FS, fchmodSync, fstatSync, lstatSync, openSync, readdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { EnvlockError, errnoCode, isEnvlockError } from '../errors.js';

/** Turns a failed filesystem call on the store into the error a user can act on. */
export function storeIoError(error: unknown, what: string, storeRoot: string, needed?: number): EnvlockError {
  if (isEnvlockError(error)) return error;
  const code = errnoCode(error);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    const need = needed === undefined ? '' : ` (${needed} bytes needed)`;
    return new EnvlockError('STORE_FULL', `The store at ${storeRoot} ran out of space while writing ${what}${need}.`, {
      hint: 'Free space there (try `envlock gc`) or point --store / ENVLOCK_STORE at a larger filesystem, then run the command again.',
      cause: error,
      details: { store: storeRoot, needed, errno: code },
    });
  }
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') {
    return new EnvlockError('STORE_READ_ONLY', `The store at ${storeRoot} is not writable (${code} while writing ${what}).`, {
      hint: 'Point --store or ENVLOCK_STORE at a directory you can write; site stores belong in ENVLOCK_STORE_RO.',
      cause: error,
      details: { store: storeRoot, errno: code },
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new EnvlockError('STORE_IO', `Writing ${what} in the store at ${storeRoot} failed: ${message}.`, {
    hint: 'Check the filesystem holding the store, then run the command again.',
    cause: error,
    details: { store: storeRoot, errno: code },
  });
}

/**
 * mkdir -p that reports the real errno: Node's recursive mkdir answers ENOENT where the kernel
 * said EROFS or EACCES, which would hide "this store is read-only" from the user.
 */
export async function mkdirs(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir);
    return;
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT') throw error;
  }
  const parent = path.dirname(dir);
  if (parent === dir) return;
  await mkdirs(parent);
  try {
    await fs.mkdir(dir);
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw error;
  }
}

// The durable-write primitives live in core/fs; re-exported for the store's existing imports.
export { fsyncDir, writeFileAtomic } from '../fs/atomic-write.js';

/** Writes every byte of a buffer: write(2) may write less than asked (e.g. just before ENOSPC). */
export async function writeAll(handle: fs.FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    if (bytesWritten === 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    done += bytesWritten;
  }
}

/** Free bytes for an unprivileged writer on the filesystem holding dir (statfs(2) f_bavail). */
export async function freeBytes(dir: string): Promise<number | undefined> {
  try {
    const stats = await fs.statfs(dir);
    return Number(stats.bavail) * Number(stats.bsize);
  } catch {
    return undefined;
  }
}

/**
 * Removes a tree that may contain read-only directories (0555, even 0000): the owner first gives
 * itself u+rwx on every directory — never following symlinks — then removes it.
 */
export async function removeTree(target: string): Promise<void> {
  const stat = await fs.lstat(target).catch(() => undefined);
  if (stat === undefined) return;
  if (stat.isDirectory()) await makeDirsWritable(target);
  await fs.rm(target, { recursive: true, force: true });
}

async function makeDirsWritable(dir: string): Promise<void> {
  await fs.chmod(dir, 0o700).catch(() => undefined);
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isDirectory()) await makeDirsWritable(path.join(dir, entry.name));
  }
}

/**
 * Clears every write bit in a tree (files keep their r/x bits, directories become r-x) and,
 * when durable, fsyncs each file and directory so the later rename publishes complete data.
 * Symlinks are skipped: chmod(2) follows them (containerd CVE-2021-32760). Durability comes
 * from one syncfs(2) (`sync -f`), which costs milliseconds where an fsync per file of a large
 * image costs many seconds; without it, files are fsynced SEAL_PARALLEL at a time (concurrent
 * fsyncs share journal commits).
 */
export async function sealTree(root: string, durable: boolean): Promise<{ files: number; bytes: number }> {
  const totals = await sealEntries(root, false);
  if (durable && !(await syncFilesystem(root))) await sealEntries(root, true);
  return totals;
}

/**
 * sealTree for a tree whose regular files were already written without write bits (applyLayer
 * with sealFiles): only directories (and any special file) are changed, deepest first, found
 * by readdir's d_type so no file is opened or stat'ed. Durability as in sealTree.
 */
export async function sealDirectories(root: string, durable: boolean): Promise<void> {
  // Synchronous on purpose: a few thousand tiny calls, where a promise each costs more than the call.
  const dirs: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const where = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(where);
      } else if (!entry.isFile() && !entry.isSymbolicLink()) {
        // Not a symlink and private to this process: chmod by path is safe (see sealEntries).
        chmodSync(where, lstatSync(where).mode & 0o7555);
      }
    }
    dirs.push(dir);
  };
  walk(root);
  for (const dir of dirs) {
    // O_NOFOLLOW|O_DIRECTORY + fchmod, as in sealOne; directories are always owner-readable.
    const fd = openSync(dir, FS.O_RDONLY | FS.O_DIRECTORY | FS.O_NOFOLLOW);
    try {
      fchmodSync(fd, fstatSync(fd).mode & 0o7555);
    } finally {
      closeSync(fd);
    }
  }
  if (durable && !(await syncFilesystem(root))) await sealEntries(root, true);
}

/** syncfs(2) on the filesystem holding dir, through coreutils `sync -f`; false if unavailable. */
export function syncFilesystem(dir: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('sync', ['-f', dir], { timeout: 120_000 }, (error) => resolve(error === null));
  });
}

async function sealEntries(root: string, durable: boolean): Promise<{ files: number; bytes: number }> {
  const entries: { path: string; mode: number; kind: 'file' | 'dir' | 'other' }[] = [];
  const walk = async (entry: string): Promise<void> => {
    const stat = await fs.lstat(entry);
    if (stat.isSymbolicLink()) return;
    if (stat.isDirectory()) {
      for (const name of await fs.readdir(entry)) await walk(path.join(entry, name));
    }
    entries.push({ path: entry, mode: stat.mode, kind: stat.isFile() ? 'file' : stat.isDirectory() ? 'dir' : 'other' });
  };
  await walk(root);
  const totals = { files: 0, bytes: 0 };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < entries.length) {
      const entry = entries[next++]!;
      if (entry.kind === 'file') {
        const size = await sealOne(entry.path, entry.mode, durable);
        totals.files += 1;
        totals.bytes += size;
      } else if (entry.kind === 'dir') {
        await sealOne(entry.path, entry.mode, durable);
      } else {
        // Sockets, FIFOs, devices: never opened (a FIFO would block); chmod by path is safe
        // because the entry is not a symlink and the tree is still private to this process.
        await fs.chmod(entry.path, entry.mode & 0o7555);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(SEAL_PARALLEL, entries.length) }, worker));
  return totals;
}

const SEAL_PARALLEL = 16;

async function sealOne(entry: string, mode: number, durable: boolean): Promise<number> {
  // O_NOFOLLOW + fchmod: the entry cannot be swapped for a symlink between lstat and chmod.
  const handle = await fs.open(entry, FS.O_RDONLY | FS.O_NOFOLLOW).catch(() => undefined);
  if (handle === undefined) {
    // Unreadable (mode 0000 for a non-root owner): chmod by path, for the reason above.
    await fs.chmod(entry, mode & 0o7555);
    return (await fs.lstat(entry)).size;
  }
  try {
    await handle.chmod(mode & 0o7555);
    if (durable) await handle.sync().catch(() => undefined);
    return (await handle.stat()).size;
  } finally {
    await handle.close();
  }
}

/** Total bytes under a path (lstat sizes; hard links counted once). */
export async function treeBytes(target: string, seen = new Set<string>()): Promise<number> {
  const stat = await fs.lstat(target).catch(() => undefined);
  if (stat === undefined) return 0;
  const key = `${stat.dev}:${stat.ino}`;
  if (seen.has(key)) return 0;
  seen.add(key);
  if (!stat.isDirectory()) return stat.size;
  let total = stat.size;
  for (const name of await fs.readdir(target).catch(() => [] as string[])) total += await treeBytes(path.join(target, name), seen);
  return total;
}

export function randomSuffix(): string {
  return randomBytes(6).toString('hex');
}
