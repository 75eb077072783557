import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EnvlockError, EXIT } from '../../../core/errors.js';
import { findBlob, ingestBlob, partialPath } from '../../../core/store/blob-store.js';
import type { Store } from '../../../core/store/store.js';
import { digestOf, fakeSource, makeStore, randomData, removeDir, tempDir } from './helpers.js';

let dir: string;
let store: Store;
const data = randomData(10_000);
const desc = { digest: digestOf(data), size: data.length };
const hex = desc.digest.slice('sha256:'.length);

beforeEach(async () => {
  dir = await tempDir();
  store = makeStore(path.join(dir, 'rw'));
});
afterEach(async () => removeDir(dir));

async function caught(p: Promise<unknown>): Promise<EnvlockError> {
  const error = await p.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(EnvlockError);
  return error as EnvlockError;
}

async function blobFiles(root: string): Promise<string[]> {
  return fs.readdir(path.join(root, 'blobs', 'sha256')).catch(() => []);
}

describe('ingestBlob', () => {
  it('streams, verifies and publishes a read-only blob, then finds it without fetching', async () => {
    const source = fakeSource(data);
    const result = await ingestBlob(store, desc, source.fetch);
    expect(result).toEqual({ path: path.join(store.root, 'blobs', 'sha256', hex), downloaded: true, bytes: data.length, fetched: data.length });
    expect(await fs.readFile(result.path)).toEqual(data);
    expect((await fs.stat(result.path)).mode & 0o777).toBe(0o444);
    expect(await fs.readFile(path.join(store.root, 'layout-version'), 'utf8')).toBe('1\n');
    expect(await fs.readdir(store.dir('tmp'))).toEqual([]);
    expect(findBlob(store, desc.digest)).toBe(result.path);

    const again = await ingestBlob(store, desc, source.fetch);
    expect(again.downloaded).toBe(false);
    expect(source.calls).toEqual([0]);
  });

  it('rejects a wrong byte with DIGEST_MISMATCH evidence and keeps nothing', async () => {
    const bad = Buffer.from(data);
    bad[5000] = (bad[5000]! + 1) & 0xff;
    const error = await caught(ingestBlob(store, desc, fakeSource(bad).fetch));
    expect(error.code).toBe('DIGEST_MISMATCH');
    expect(error.exitCode).toBe(EXIT.FAILURE);
    expect(error.message).toBe(`Blob ${desc.digest} failed verification: wanted ${desc.digest}, got ${digestOf(bad)}, 10000 bytes.`);
    expect(await blobFiles(store.root)).toEqual([]);
    expect(await fs.readdir(store.dir('tmp'))).toEqual([]);
  });

  it('stops an oversized blob as soon as it passes the declared size (SIZE_MISMATCH)', async () => {
    const big = Buffer.concat([data, Buffer.alloc(1_000_000)]);
    const source = fakeSource(big);
    const error = await caught(ingestBlob(store, desc, source.fetch));
    expect(error.code).toBe('SIZE_MISMATCH');
    expect(error.message).toBe(`Blob ${desc.digest} is larger than the 10000 bytes its descriptor declares.`);
    expect(error.details?.received).toBe(11_000);
    expect(await blobFiles(store.root)).toEqual([]);
    expect(await fs.readdir(store.dir('tmp'))).toEqual([]);
  });

  it('reports a truncated blob (SIZE_MISMATCH) and keeps the prefix for resumption', async () => {
    const error = await caught(ingestBlob(store, desc, fakeSource(data.subarray(0, 4000)).fetch));
    expect(error.code).toBe('SIZE_MISMATCH');
    expect(error.message).toBe(`Blob ${desc.digest} was truncated: 4000 of 10000 bytes arrived.`);
    expect((await fs.stat(partialPath(store, desc.digest))).size).toBe(4000);
    const resumed = fakeSource(data);
    const result = await ingestBlob(store, desc, resumed.fetch);
    expect(resumed.calls).toEqual([4000]);
    expect(result.fetched).toBe(6000);
  });

  it('keeps the partial after a network reset and resumes from its end, re-hashing it', async () => {
    const first = fakeSource(data, { failAfter: 3500 });
    const error = await ingestBlob(store, desc, first.fetch).then(() => undefined, (e: unknown) => e);
    expect((error as { code?: string }).code).toBe('ECONNRESET');
    expect((await fs.stat(partialPath(store, desc.digest))).size).toBe(3500);

    const second = fakeSource(data);
    const result = await ingestBlob(store, desc, second.fetch);
    expect(second.calls).toEqual([3500]);
    expect(result).toMatchObject({ downloaded: true, fetched: 6500 });
    expect(await fs.readFile(result.path)).toEqual(data);
  });

  it('detects a corrupted partial: the resumed hash covers the old bytes too', async () => {
    await ingestBlob(store, desc, fakeSource(data, { failAfter: 3500 }).fetch).catch(() => undefined);
    const partial = partialPath(store, desc.digest);
    const handle = await fs.open(partial, 'r+');
    await handle.write(Buffer.from([data[10]! ^ 0xff]), 0, 1, 10);
    await handle.close();
    const error = await caught(ingestBlob(store, desc, fakeSource(data).fetch));
    expect(error.code).toBe('DIGEST_MISMATCH');
    await expect(fs.stat(partial)).rejects.toThrow();
  });

  it('restarts cleanly when the source ignores Range and sends from byte 0', async () => {
    await ingestBlob(store, desc, fakeSource(data, { failAfter: 3500 }).fetch).catch(() => undefined);
    const source = fakeSource(data, { ignoreRange: true });
    const result = await ingestBlob(store, desc, source.fetch);
    expect(source.calls).toEqual([3500]);
    expect(result.fetched).toBe(10_000);
    expect(await fs.readFile(result.path)).toEqual(data);
  });

  it('discards a partial longer than the blob', async () => {
    await store.prepare();
    await fs.writeFile(partialPath(store, desc.digest), Buffer.alloc(20_000));
    const source = fakeSource(data);
    await ingestBlob(store, desc, source.fetch);
    expect(source.calls).toEqual([0]);
  });

  it('never fetches or writes a blob that a read-only store has, and never writes the read-only store', async () => {
    const siteRoot = path.join(dir, 'site');
    const site = makeStore(siteRoot);
    await ingestBlob(site, desc, fakeSource(data).fetch);
    const before = await fs.readdir(siteRoot, { recursive: true });

    const layered = makeStore(path.join(dir, 'rw'), [siteRoot]);
    const source = fakeSource(data);
    const result = await ingestBlob(layered, desc, source.fetch);
    expect(result).toMatchObject({ path: path.join(siteRoot, 'blobs', 'sha256', hex), downloaded: false });
    expect(source.calls).toEqual([]);
    expect(findBlob(layered, desc.digest)).toBe(result.path);
    await expect(fs.stat(path.join(dir, 'rw'))).rejects.toThrow();

    const other = randomData(500, 7);
    await ingestBlob(layered, { digest: digestOf(other), size: 500 }, fakeSource(other).fetch);
    expect(await fs.readdir(siteRoot, { recursive: true })).toEqual(before);
    expect(await blobFiles(path.join(dir, 'rw'))).toEqual([digestOf(other).slice(7)]);
  });

  it('searches read-only stores first', async () => {
    const siteRoot = path.join(dir, 'site');
    await ingestBlob(makeStore(siteRoot), desc, fakeSource(data).fetch);
    await ingestBlob(store, desc, fakeSource(data).fetch);
    expect(findBlob(makeStore(store.root, [siteRoot]), desc.digest)).toBe(path.join(siteRoot, 'blobs', 'sha256', hex));
  });

  it('validates the digest before it becomes a path (DIGEST_INVALID)', async () => {
    for (const digest of ['sha256:../../etc/passwd', `sha256:${'A'.repeat(64)}`, 'md5:abc']) {
      expect(() => findBlob(store, digest)).toThrow(EnvlockError);
      const error = await caught(ingestBlob(store, { digest, size: 1 }, fakeSource(data).fetch));
      expect(error.code).toBe('DIGEST_INVALID');
    }
    await expect(fs.stat(store.root)).rejects.toThrow();
  });

  it('rejects an invalid declared size', async () => {
    const error = await caught(ingestBlob(store, { digest: desc.digest, size: -1 }, fakeSource(data).fetch));
    expect(error.code).toBe('SIZE_MISMATCH');
  });

  it('refuses a source that resumes at a different offset than asked', async () => {
    await ingestBlob(store, desc, fakeSource(data, { failAfter: 3500 }).fetch).catch(() => undefined);
    const liar = fakeSource(data);
    const fetch = async (offset: number, signal: AbortSignal | undefined) => ({ ...(await liar.fetch(offset, signal)), offset: offset + 10 });
    const error = await caught(ingestBlob(store, desc, fetch));
    expect(error.code).toBe('REGISTRY_PROTOCOL');
  });

  it('turns an aborted download into INTERRUPTED and keeps the partial', async () => {
    const controller = new AbortController();
    // Like undici: aborting the signal errors the body stream with an AbortError.
    const fetch = async (offset: number) => {
      async function* body(): AsyncGenerator<Buffer> {
        yield data.subarray(offset, offset + 2000);
        controller.abort();
        throw Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });
      }
      return { stream: Readable.from(body()), offset };
    };
    const error = await caught(ingestBlob(store, desc, fetch, { signal: controller.signal }));
    expect(error.code).toBe('INTERRUPTED');
    expect(error.message).toBe(`The download of blob ${desc.digest} was interrupted; the bytes so far are kept.`);
    await expect(fs.stat(partialPath(store, desc.digest))).resolves.toBeDefined();
  });

  it('reports a store that cannot be created as STORE_IO', async () => {
    const file = path.join(dir, 'a-file');
    await fs.writeFile(file, 'x');
    const error = await caught(ingestBlob(makeStore(path.join(file, 'store')), desc, fakeSource(data).fetch));
    expect(error.code).toBe('STORE_IO');
    expect(error.message).toContain(path.join(file, 'store'));
  });

  it('reports progress on the task', async () => {
    let total = 0;
    let advanced = 0;
    let done = false;
    const task = { setTotal: (n: number) => (total = n), restart: (n: number) => (advanced = n), advance: (n: number) => (advanced += n), done: () => (done = true), fail: () => {} };
    await ingestBlob(store, desc, fakeSource(data).fetch, { task });
    expect({ total, advanced, done }).toEqual({ total: 10_000, advanced: 10_000, done: true });
  });
});
