// writeFileAtomic and fsyncDir: the one way a file is replaced. Readers never see a torn file,
// nothing is left behind, and neither a planted name nor a symlink is ever written through.

import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fsyncDir, isTempSibling, tempSibling, writeFileAtomic } from '../../../core/fs/atomic-write.js';
import { hashFile, hashFileInto } from '../../../core/fs/hash-file.js';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'envlock-atomic-'));
});
afterEach(async () => fs.rm(dir, { recursive: true, force: true }));

describe('writeFileAtomic', () => {
  it('replaces the file by rename (a new inode) and leaves no temporary file', async () => {
    const file = path.join(dir, 'f');
    await writeFileAtomic(file, 'one');
    const before = (await fs.stat(file)).ino;
    expect(await writeFileAtomic(file, Buffer.from('two!'))).toBe(true);
    expect(await fs.readFile(file, 'utf8')).toBe('two!');
    expect((await fs.stat(file)).ino).not.toBe(before);
    expect(await fs.readdir(dir)).toEqual(['f']);
  });

  it('with skipIfSame leaves identical bytes, and their mtime, alone', async () => {
    const file = path.join(dir, 'f');
    await writeFileAtomic(file, 'same');
    await fs.utimes(file, 1_000, 1_000);
    expect(await writeFileAtomic(file, 'same', { skipIfSame: true })).toBe(false);
    expect((await fs.stat(file)).mtimeMs).toBe(1_000_000);
    expect(await writeFileAtomic(file, 'other', { skipIfSame: true })).toBe(true);
  });

  it('with keepMode keeps the permissions of the file it replaces', async () => {
    const file = path.join(dir, 'f');
    await writeFileAtomic(file, 'one');
    await fs.chmod(file, 0o660);
    await writeFileAtomic(file, 'two', { keepMode: true });
    expect((await fs.stat(file)).mode & 0o777).toBe(0o660);
  });

  it('removes its temporary file when the rename fails (the target is a directory)', async () => {
    const target = path.join(dir, 'd');
    await fs.mkdir(target);
    await fs.writeFile(path.join(target, 'inside'), 'x');
    await expect(writeFileAtomic(target, 'x')).rejects.toMatchObject({ code: expect.stringMatching(/EISDIR|ENOTEMPTY|EEXIST/) });
    expect(await fs.readdir(dir)).toEqual(['d']);
  });

  it('never writes through a symlink that stands where the file goes: the link is replaced', async () => {
    const victim = path.join(dir, 'victim');
    await fs.writeFile(victim, 'precious');
    await fs.symlink(victim, path.join(dir, 'f'));
    await writeFileAtomic(path.join(dir, 'f'), 'new');
    expect(await fs.readFile(victim, 'utf8')).toBe('precious');
    expect((await fs.lstat(path.join(dir, 'f'))).isFile()).toBe(true);
  });

  it('uses unpredictable temporary names beside the target, which isTempSibling recognises', () => {
    const a = tempSibling(path.join(dir, 'envlock.lock'));
    const b = tempSibling(path.join(dir, 'envlock.lock'));
    expect(a).not.toBe(b);
    expect(path.dirname(a)).toBe(dir);
    expect(isTempSibling(path.basename(a))).toBe(true);
    expect(isTempSibling('envlock.lock')).toBe(false);
    expect(isTempSibling('name.tmp-1234')).toBe(false);
  });

  it('fsyncs a directory, and fails on one that does not exist', async () => {
    await fsyncDir(dir);
    await expect(fsyncDir(path.join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('hashFile', () => {
  it('hashes a whole file or a prefix, and refuses a final symlink when asked', async () => {
    const file = path.join(dir, 'data');
    const bytes = Buffer.alloc(600_000, 7);
    await fs.writeFile(file, bytes);
    const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    expect(await hashFile(file)).toBe(`sha256:${sha(bytes)}`);
    const hash = createHash('sha256');
    expect(await hashFileInto(hash, file, { length: 300_001, buffer: Buffer.alloc(4096) })).toBe(300_001);
    expect(hash.digest('hex')).toBe(sha(bytes.subarray(0, 300_001)));
    await fs.symlink(file, path.join(dir, 'link'));
    await expect(hashFile(path.join(dir, 'link'), 'sha256', { noFollow: true })).rejects.toMatchObject({ code: 'ELOOP' });
    expect(await hashFile(path.join(dir, 'link'), 'sha512')).toMatch(/^sha512:[0-9a-f]{128}$/);
  });
});
