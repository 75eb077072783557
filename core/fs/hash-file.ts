// The one way envlock hashes a file: read through a reusable buffer (no stream objects, so
// hashing thousands of small files stays cheap), optionally only a prefix, never through a
// final symlink where the caller says so.

import { createHash, type Hash } from 'node:crypto';
import { constants as FS } from 'node:fs';
import fs from 'node:fs/promises';

export interface HashFileOptions {
  /** Refuse (ELOOP) rather than follow a symlink at the last component. */
  noFollow?: boolean;
  /** Hash only the first `length` bytes (a resumed download's partial). */
  length?: number;
  /** A scratch buffer to reuse between calls. */
  buffer?: Buffer;
}

/** Feeds the file's bytes into `hash`; returns how many bytes were read. */
export async function hashFileInto(hash: Hash, file: string | Buffer, options: HashFileOptions = {}): Promise<number> {
  const limit = options.length ?? Number.POSITIVE_INFINITY;
  if (limit <= 0) return 0;
  const buffer = options.buffer ?? Buffer.allocUnsafe(256 * 1024);
  const handle = await fs.open(file, FS.O_RDONLY | (options.noFollow ? FS.O_NOFOLLOW : 0));
  let total = 0;
  try {
    while (total < limit) {
      const want = Math.min(buffer.length, limit - total);
      const { bytesRead } = await handle.read(buffer, 0, want, total);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      total += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return total;
}

/** The file's digest in OCI form, "<algorithm>:<hex>". */
export async function hashFile(file: string | Buffer, algorithm = 'sha256', options: HashFileOptions = {}): Promise<string> {
  const hash = createHash(algorithm);
  await hashFileInto(hash, file, options);
  return `${algorithm}:${hash.digest('hex')}`;
}
