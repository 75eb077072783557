// Verified blobs: lookup across stores, and ingestion that streams into tmp/, enforces the
// declared size while bytes flow, verifies the digest, and publishes with an atomic rename.
// Interrupted downloads keep their partial file so the next call resumes it.

import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { silentTask, type ProgressTask } from '../context.js';
import { EnvlockError, isEnvlockError } from '../errors.js';
import { assertDigest, digestParts, shortDigest } from '../oci/digest.js';
import { DigestVerifier, verifyFailure } from '../oci/digest-verifier.js';
import { fsyncDir } from '../fs/atomic-write.js';
import { freeBytes, storeIoError, writeAll } from './fs-util.js';
import { blobPathIn } from './layout.js';
import { withLock, type LockOptions } from './lock.js';
import type { Store } from './store.js';

export interface BlobDescriptor {
  digest: string;
  size: number;
}

/** Where a source resumed: `offset` is 0 when it ignored the Range request. */
export interface FetchResult {
  stream: Readable;
  offset: number;
}

export type BlobFetch = (offset: number, signal: AbortSignal | undefined) => Promise<FetchResult>;

export interface IngestOptions {
  task?: ProgressTask;
  signal?: AbortSignal;
  onWait?: LockOptions['onWait'];
}

export interface IngestResult {
  path: string;
  /** false when the blob was already in some store and nothing was fetched. */
  downloaded: boolean;
  /** The blob's size. */
  bytes: number;
  /** Bytes transferred by this call (less than bytes after a resume). */
  fetched: number;
}

import { findBlob } from './find.js';

export { findBlob };

export function partialPath(store: Store, digest: string): string {
  const { algorithm, hex } = digestParts(assertDigest(digest, 'a blob'));
  return path.join(store.dir('tmp'), `${algorithm === 'sha256' ? '' : `${algorithm}-`}${hex}.partial`);
}

/**
 * Makes the blob present in the writable store (unless some store already has it). Concurrent
 * callers in any process serialise on the blob's lock and re-check after acquiring it, so the
 * blob is downloaded once and every caller succeeds.
 */
export async function ingestBlob(store: Store, desc: BlobDescriptor, fetch: BlobFetch, options: IngestOptions = {}): Promise<IngestResult> {
  const digest = assertDigest(desc.digest, 'a blob');
  if (!Number.isSafeInteger(desc.size) || desc.size < 0) {
    throw new EnvlockError('SIZE_MISMATCH', `The descriptor of blob ${digest} declares an invalid size ${String(desc.size)}.`, {
      hint: 'Re-create the lockfile with `envlock lock`.',
    });
  }
  const present = findBlob(store, digest);
  if (present !== undefined) return { path: present, downloaded: false, bytes: desc.size, fetched: 0 };
  await store.prepare();
  const { hex } = digestParts(digest);
  const lockOptions: LockOptions = {};
  if (options.signal !== undefined) lockOptions.signal = options.signal;
  if (options.onWait !== undefined) lockOptions.onWait = options.onWait;
  return withLock(store, `blob-${hex}`, async () => {
    const done = findBlob(store, digest);
    if (done !== undefined) return { path: done, downloaded: false, bytes: desc.size, fetched: 0 };
    return download(store, { digest, size: desc.size }, fetch, options);
  }, lockOptions);
}

async function download(store: Store, desc: BlobDescriptor, fetch: BlobFetch, options: IngestOptions): Promise<IngestResult> {
  const task = options.task ?? silentTask;
  const partial = partialPath(store, desc.digest);
  const target = blobPathIn(store.root, desc.digest);
  let have = (await fs.stat(partial).catch(() => undefined))?.size ?? 0;
  if (have > desc.size) {
    await fs.rm(partial, { force: true });
    have = 0;
  }
  await checkFreeSpace(store, desc, desc.size - have);
  task.setTotal(desc.size);

  let source: FetchResult;
  try {
    source = await fetch(have, options.signal);
  } catch (error) {
    throw interrupted(error, options.signal, desc.digest);
  }
  const offset = source.offset;
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > have) {
    source.stream.destroy();
    throw new EnvlockError('REGISTRY_PROTOCOL', `The source of blob ${desc.digest} resumed at byte ${String(offset)}, but only ${have} bytes were asked to be skipped.`, {
      hint: 'Run the command again; if it repeats, report the registry.',
    });
  }

  let handle: fs.FileHandle;
  try {
    handle = await fs.open(partial, offset === 0 ? 'w' : 'r+', 0o644);
  } catch (error) {
    source.stream.destroy();
    throw storeIoError(error, `blob ${shortDigest(desc.digest)}`, store.root, desc.size);
  }
  let written = offset;
  let fetched = 0;
  let keepPartial = true;
  const verifier = new DigestVerifier(desc.digest, { size: desc.size, hint: 'The registry served corrupted or different content than the lockfile names; run the command again, and report the registry if it repeats.' });
  try {
    // A crypto Hash cannot be saved or seeded, so a resumed download re-hashes the bytes it
    // already has (pitfalls 1.5) and the same hash then continues over the new bytes.
    if (offset > 0) {
      await handle.truncate(offset);
      await verifier.seed(partial, offset);
    }
    // Where this attempt starts (0 when the source ignored Range): never bytes counted twice.
    task.restart(offset);
    for await (const chunk of source.stream as AsyncIterable<Buffer>) {
      verifier.update(chunk);
      try {
        await writeAll(handle, chunk, written);
      } catch (error) {
        throw storeIoError(error, `blob ${shortDigest(desc.digest)}`, store.root, desc.size);
      }
      written += chunk.length;
      fetched += chunk.length;
      task.advance(chunk.length);
    }
    verifier.finish();
    try {
      await handle.sync();
      await handle.chmod(0o444);
    } catch (error) {
      throw storeIoError(error, `blob ${shortDigest(desc.digest)}`, store.root, desc.size);
    }
  } catch (error) {
    // What arrived of a truncated stream is a prefix, kept for resumption (the digest check
    // guards the whole); bytes beyond the declared size or of another digest cannot be trusted.
    const failure = verifyFailure(error);
    if (failure === 'too-large' || failure === 'digest') keepPartial = false;
    source.stream.destroy();
    await handle.close().catch(() => undefined);
    if (!keepPartial) await fs.rm(partial, { force: true });
    // No "failed" line here: the caller may retry; it reports the failure that ends the work.
    throw interrupted(error, options.signal, desc.digest);
  }
  try {
    // close(2) can still report a write error on NFS (close-to-open flush).
    await handle.close();
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.rename(partial, target);
    await fsyncDir(path.dirname(target));
  } catch (error) {
    throw storeIoError(error, `blob ${shortDigest(desc.digest)}`, store.root, desc.size);
  }
  task.done();
  return { path: target, downloaded: true, bytes: desc.size, fetched };
}

/** Fails early, naming both numbers, when the filesystem cannot hold the rest of the blob. */
async function checkFreeSpace(store: Store, desc: BlobDescriptor, needed: number): Promise<void> {
  const free = await freeBytes(store.dir('tmp'));
  if (free === undefined || free >= needed) return;
  throw new EnvlockError('STORE_FULL', `The store at ${store.root} has ${free} bytes free but blob ${desc.digest} needs ${needed} more bytes.`, {
    hint: 'Free space there (try `envlock gc`) or point --store / ENVLOCK_STORE at a larger filesystem, then run the command again.',
    details: { store: store.root, free, needed, digest: desc.digest },
  });
}

function interrupted(error: unknown, signal: AbortSignal | undefined, digest: string): unknown {
  if (signal?.aborted !== true || isEnvlockError(error)) return error;
  return new EnvlockError('INTERRUPTED', `The download of blob ${digest} was interrupted; the bytes so far are kept.`, {
    hint: 'Run the command again to resume it.',
    cause: error,
  });
}
