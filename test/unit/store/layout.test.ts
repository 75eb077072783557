import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EnvlockError, EXIT } from '../../../core/errors.js';
import { ingestBlob } from '../../../core/store/blob-store.js';
import { storeIoError } from '../../../core/store/fs-util.js';
import { blobPathIn } from '../../../core/store/layout.js';
import { readRegistrations, registerLockfile, unregisterLockfile } from '../../../core/store/registry.js';
import { Store } from '../../../core/store/store.js';
import { makeContext } from '../../../core/context.js';
import { digestOf, fakeSource, makeStore, removeDir, tempDir } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => removeDir(dir));

describe('store layout', () => {
  it('refuses a store written by a newer layout (STORE_LAYOUT_UNSUPPORTED)', async () => {
    const root = path.join(dir, 'rw');
    await fs.mkdir(root);
    await fs.writeFile(path.join(root, 'layout-version'), '2\n');
    const data = Buffer.from('x');
    const error = await ingestBlob(makeStore(root), { digest: digestOf(data), size: 1 }, fakeSource(data).fetch).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(EnvlockError);
    expect((error as EnvlockError).code).toBe('STORE_LAYOUT_UNSUPPORTED');
    expect((error as EnvlockError).exitCode).toBe(EXIT.FAILURE);
    expect((error as EnvlockError).message).toBe(`The store at ${root} has layout version "2", but this envlock reads only version 1.`);
  });

  it('ignores a read-only store path that is not a store', () => {
    const store = makeStore(path.join(dir, 'rw'), [path.join(dir, 'nothing-here')]);
    expect(store.searchRoots()).toEqual([path.join(dir, 'rw')]);
  });

  it('opens the store a context names', () => {
    const ctx = makeContext({ env: { ENVLOCK_STORE: path.join(dir, 's'), ENVLOCK_STORE_RO: path.join(dir, 'ro') } });
    const store = Store.open(ctx);
    expect([store.root, store.readOnly]).toEqual([path.join(dir, 's'), [path.join(dir, 'ro')]]);
  });

  it('builds blob paths only from valid digests', () => {
    expect(() => blobPathIn('/s', 'sha256:../../x')).toThrow(/not a valid sha256/);
    expect(blobPathIn('/s', `sha256:${'a'.repeat(64)}`)).toBe(`/s/blobs/sha256/${'a'.repeat(64)}`);
  });
});

describe('storeIoError', () => {
  const cases = [
    ['ENOSPC', 'STORE_FULL', 'The store at /s ran out of space while writing blob abc (100 bytes needed).'],
    ['EROFS', 'STORE_READ_ONLY', 'The store at /s is not writable (EROFS while writing blob abc).'],
    ['EACCES', 'STORE_READ_ONLY', 'The store at /s is not writable (EACCES while writing blob abc).'],
    ['EIO', 'STORE_IO', 'Writing blob abc in the store at /s failed: disk error.'],
  ] as const;
  for (const [errno, code, message] of cases) {
    it(`maps ${errno} to ${code}`, () => {
      const error = storeIoError(Object.assign(new Error('disk error'), { code: errno }), 'blob abc', '/s', 100);
      expect([error.code, error.message, error.exitCode]).toEqual([code, message, EXIT.FAILURE]);
      expect(error.hint).toMatch(/^[A-Z]/);
    });
  }
});

describe('lockfile registry', () => {
  it('records one sorted, de-duplicated entry per lockfile path and can forget it', async () => {
    const store = makeStore(path.join(dir, 'rw'));
    const a = `sha256:${'a'.repeat(64)}`;
    const b = `sha256:${'b'.repeat(64)}`;
    const lockfile = path.join(dir, 'envlock.lock');
    await registerLockfile(store, lockfile, [b, a, b]);
    await registerLockfile(store, lockfile, [b, a]);
    const entries = await readRegistrations(store);
    expect(entries.map((e) => [e.path, e.digests, e.exists])).toEqual([[lockfile, [a, b], false]]);
    expect(path.basename(entries[0]!.file)).toMatch(/^[a-f0-9]{64}\.json$/);
    // Only ENOENT/ENOTDIR mean "gone": a lockfile that cannot be examined (ELOOP here, EACCES
    // or a filesystem hiccup elsewhere) keeps protecting its digests.
    const loop = path.join(dir, 'loop');
    await fs.symlink(loop, loop);
    await registerLockfile(store, path.join(loop, 'envlock.lock'), [a]);
    expect((await readRegistrations(store)).find((e) => e.path.startsWith(loop))?.exists).toBe(true);
    await unregisterLockfile(store, path.join(loop, 'envlock.lock'));
    await unregisterLockfile(store, lockfile);
    expect(await readRegistrations(store)).toEqual([]);
    await expect(registerLockfile(store, lockfile, ['sha256:nope'])).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
  });
});
