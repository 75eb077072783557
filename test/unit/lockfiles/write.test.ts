// writeLockfile: atomic replacement, no temporary files left behind, and an unchanged lock
// leaves the file untouched (same inode, same mtime) so build tools see no change.

import { chmod, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { readLockfile } from '../../../lockfiles/parse.js';
import { serializeLockfile, writeLockfile } from '../../../lockfiles/write.js';
import { rejected, sampleLock } from './sample.js';

describe('writeLockfile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'envlock-write-'));
  });
  afterEach(async () => {
    await chmod(dir, 0o755).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  test('writes the canonical bytes to dir/envlock.lock and leaves no temporary file', async () => {
    const result = await writeLockfile(dir, sampleLock());
    expect(result).toEqual({ file: path.join(dir, 'envlock.lock'), written: true });
    expect(await readFile(result.file, 'utf8')).toBe(serializeLockfile(sampleLock()));
    expect(await readdir(dir)).toEqual(['envlock.lock']);
    expect(await readLockfile(dir)).toStrictEqual(sampleLock());
  });

  test('does not touch the file when the bytes are identical', async () => {
    const { file } = await writeLockfile(dir, sampleLock());
    const old = new Date('2020-01-01T00:00:00Z');
    await utimes(file, old, old);
    const before = await stat(file);
    const result = await writeLockfile(dir, sampleLock());
    const after = await stat(file);
    expect(result.written).toBe(false);
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
  });

  test('replaces a different lock by rename, so the inode changes and no temporary file remains', async () => {
    const file = path.join(dir, 'envlock.lock');
    await writeFile(file, '# an older lock\n');
    const before = await stat(file);
    const result = await writeLockfile(dir, sampleLock());
    expect(result.written).toBe(true);
    expect((await stat(file)).ino).not.toBe(before.ino);
    expect(await readdir(dir)).toEqual(['envlock.lock']);
  });

  test('keeps the permissions of the lock it replaces', async () => {
    const file = path.join(dir, 'envlock.lock');
    await writeFile(file, '# an older lock\n');
    await chmod(file, 0o664);
    await writeLockfile(dir, sampleLock());
    expect((await stat(file)).mode & 0o777).toBe(0o664);
  });

  test('a missing directory is an IO error naming the file', async () => {
    const missing = path.join(dir, 'nope');
    const error = await rejected(writeLockfile(missing, sampleLock()));
    expect(error.code).toBe('IO');
    expect(error.exitCode).toBe(1);
    expect(error.message.startsWith(`Could not write ${path.join(missing, 'envlock.lock')}: `)).toBe(true);
    expect(error.hint).toBe('Check that the directory exists and is writable and that the disk is not full.');
  });

  test('a model that would not read back is refused as an internal error, and nothing is written', async () => {
    const lock = sampleLock();
    lock.environments[0]!.images[0]!.config.digest = 'sha256:not-a-digest';
    const error = await rejected(writeLockfile(dir, lock));
    expect(error.code).toBeUndefined();
    expect(error.message).toMatch(/^internal: refusing to write a lockfile that does not read back: .*config\.digest/);
    expect(await readdir(dir)).toEqual([]);
  });
});
