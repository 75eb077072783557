// Shared test helpers for the store: temp stores, fake blob sources fed from Buffers (no
// network), and digests of test data.

import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Store, type StoreOptions } from '../../../core/store/store.js';
import type { BlobFetch } from '../../../core/store/blob-store.js';
import { removeTree } from '../../../core/store/fs-util.js';

export async function tempDir(prefix = 'envlock-store-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  // Stores contain read-only dirs that a non-root owner cannot empty until they are writable.
  await removeTree(dir);
}

export function makeStore(root: string, readOnly: string[] = [], options: StoreOptions = {}): Store {
  return new Store({ writable: root, readOnly }, { lockStaleMs: 2_000, heartbeatMs: 100, pollMinMs: 10, pollMaxMs: 50, ...options });
}

export function digestOf(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export interface FakeSource {
  fetch: BlobFetch;
  calls: number[];
}

export interface SourceOptions {
  /** Emit an ECONNRESET after this many bytes of the response. */
  failAfter?: number;
  /** Behave like a server that ignores Range: always start at 0. */
  ignoreRange?: boolean;
  chunk?: number;
}

/** A blob source serving `data` in chunks from the requested offset. */
export function fakeSource(data: Buffer, options: SourceOptions = {}): FakeSource {
  const calls: number[] = [];
  const chunk = options.chunk ?? 1000;
  const fetch: BlobFetch = async (offset) => {
    calls.push(offset);
    const start = options.ignoreRange === true ? 0 : offset;
    const failAfter = options.failAfter;
    async function* body(): AsyncGenerator<Buffer> {
      let sent = 0;
      for (let i = start; i < data.length; i += chunk) {
        const piece = data.subarray(i, Math.min(i + chunk, data.length));
        if (failAfter !== undefined && sent + piece.length > failAfter) {
          if (failAfter > sent) yield piece.subarray(0, failAfter - sent);
          throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        }
        sent += piece.length;
        yield piece;
      }
    }
    return { stream: Readable.from(body()), offset: start };
  };
  return { fetch, calls };
}

export function randomData(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i += 1) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
