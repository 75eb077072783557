import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { removeTree, sealTree, syncFilesystem, treeBytes, writeFileAtomic } from '../../../core/store/fs-util.js';
import { removeDir, tempDir } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => removeDir(dir));

async function mode(p: string): Promise<number> {
  return (await fs.lstat(p)).mode & 0o7777;
}

describe('sealTree', () => {
  it('clears write bits, keeps r/x and special bits, and never chmods through a symlink (CVE-2021-32760)', async () => {
    const outside = path.join(dir, 'host-file');
    await fs.writeFile(outside, 'host', { mode: 0o666 });
    await fs.chmod(outside, 0o666);
    const root = path.join(dir, 'root');
    await fs.mkdir(path.join(root, 'tmp'), { recursive: true });
    await fs.chmod(path.join(root, 'tmp'), 0o1777);
    await fs.writeFile(path.join(root, 'exe'), 'x');
    await fs.chmod(path.join(root, 'exe'), 0o4755);
    await fs.writeFile(path.join(root, 'data'), 'abc');
    await fs.chmod(path.join(root, 'data'), 0o664);
    await fs.symlink(outside, path.join(root, 'escape'));
    execFileSync('mkfifo', [path.join(root, 'pipe')]);

    const totals = await sealTree(root, true);
    expect(totals).toEqual({ files: 2, bytes: 4 });
    expect(await mode(path.join(root, 'tmp'))).toBe(0o1555);
    expect(await mode(path.join(root, 'exe'))).toBe(0o4555);
    expect(await mode(path.join(root, 'data'))).toBe(0o444);
    expect((await mode(path.join(root, 'pipe'))) & 0o222).toBe(0);
    expect(await mode(outside)).toBe(0o666);
  });

  it('still seals and syncs file by file when syncfs is unavailable', async () => {
    const root = path.join(dir, 'root');
    await fs.mkdir(root);
    await fs.writeFile(path.join(root, 'f'), 'x', { mode: 0o644 });
    const saved = process.env.PATH;
    process.env.PATH = '';
    try {
      expect(await syncFilesystem(root)).toBe(false);
      expect(await sealTree(root, true)).toEqual({ files: 1, bytes: 1 });
    } finally {
      process.env.PATH = saved;
    }
    expect(await mode(path.join(root, 'f'))).toBe(0o444);
    expect(await syncFilesystem(root)).toBe(true);
  });
});

describe('removeTree and helpers', () => {
  it('removes a tree with 0555 and 0000 directories', async () => {
    const root = path.join(dir, 'victim');
    await fs.mkdir(path.join(root, 'a', 'b'), { recursive: true });
    await fs.writeFile(path.join(root, 'a', 'b', 'f'), 'x');
    await fs.chmod(path.join(root, 'a', 'b'), 0o000);
    await fs.chmod(path.join(root, 'a'), 0o555);
    await removeTree(root);
    await expect(fs.stat(root)).rejects.toThrow();
    await removeTree(root);
  });

  it('writes files atomically and counts tree bytes once per inode', async () => {
    const file = path.join(dir, 'f.json');
    await writeFileAtomic(file, 'one');
    await writeFileAtomic(file, 'two!');
    expect(await fs.readFile(file, 'utf8')).toBe('two!');
    expect(await fs.readdir(dir)).toEqual(['f.json']);
    await fs.link(file, path.join(dir, 'hard'));
    const dirSize = (await fs.stat(dir)).size;
    expect(await treeBytes(dir)).toBe(dirSize + 4);
  });
});
