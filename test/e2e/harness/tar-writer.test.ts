// The hand-written tar writer: GNU tar reads every kind of entry back with the exact names, types,
// modes, owners, link targets and device numbers written, long names included.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gzip, hasZstd, tarEntries, zstd, type TarEntry } from '../../helpers/tar-writer.js';

function listing(tar: Buffer): string[] {
  return execFileSync('tar', ['--numeric-owner', '-tvf', '-'], { input: tar, stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', TZ: 'UTC', LC_ALL: 'C' } })
    .toString('utf8')
    .trimEnd()
    .split('\n')
    .map((line) => line.replace(/\s+/g, ' '));
}

const LONG = `deep/${'d'.repeat(120)}/${'n'.repeat(90)}.txt`;

const ENTRIES: TarEntry[] = [
  { path: 'dir/', type: 'dir', mode: 0o755 },
  { path: 'dir/file.txt', type: 'file', mode: 0o640, uid: 1000, gid: 100, content: 'hello\n', mtime: 86400 },
  { path: 'dir/setuid', type: 'file', mode: 0o4755, content: 'x' },
  { path: 'tmp/', type: 'dir', mode: 0o1777 },
  { path: 'dir/link', type: 'symlink', linkTarget: '../etc/passwd' },
  { path: 'dir/hard', type: 'hardlink', linkTarget: 'dir/file.txt' },
  { path: 'dev/null', type: 'char', mode: 0o666, devMajor: 1, devMinor: 3 },
  { path: 'dev/sda', type: 'block', mode: 0o660, devMajor: 8, devMinor: 0 },
  { path: 'dev/pipe', type: 'fifo', mode: 0o600 },
  { path: '../escape', type: 'file', content: 'out' },
  { path: '/abs/path', type: 'file', content: 'abs' },
  { path: 'dir/.wh.gone', type: 'file' },
  { path: 'dir/.wh..wh..opq', type: 'file' },
  { path: LONG, type: 'file', content: 'long' },
];

describe('tarEntries', () => {
  it('writes entries GNU tar lists with exact names, modes, owners, links and devices', () => {
    expect(listing(tarEntries(ENTRIES))).toEqual([
      'drwxr-xr-x 0/0 0 1970-01-01 00:00 dir/',
      '-rw-r----- 1000/100 6 1970-01-02 00:00 dir/file.txt',
      '-rwsr-xr-x 0/0 1 1970-01-01 00:00 dir/setuid',
      'drwxrwxrwt 0/0 0 1970-01-01 00:00 tmp/',
      'lrwxrwxrwx 0/0 0 1970-01-01 00:00 dir/link -> ../etc/passwd',
      'hrwxrwxrwx 0/0 0 1970-01-01 00:00 dir/hard link to dir/file.txt',
      'crw-rw-rw- 0/0 1,3 1970-01-01 00:00 dev/null',
      'brw-rw---- 0/0 8,0 1970-01-01 00:00 dev/sda',
      'prw------- 0/0 0 1970-01-01 00:00 dev/pipe',
      '-rw-r--r-- 0/0 3 1970-01-01 00:00 ../escape',
      '-rw-r--r-- 0/0 3 1970-01-01 00:00 /abs/path',
      '-rw-r--r-- 0/0 0 1970-01-01 00:00 dir/.wh.gone',
      '-rw-r--r-- 0/0 0 1970-01-01 00:00 dir/.wh..wh..opq',
      `-rw-r--r-- 0/0 4 1970-01-01 00:00 ${LONG}`,
    ]);
  });

  it('writes content and pax records GNU tar extracts faithfully', () => {
    const dir = mkdtempSync(join(tmpdir(), 'envlock-tar-'));
    try {
      const tar = tarEntries([
        { path: 'a/', type: 'dir' },
        { path: 'a/data.bin', type: 'file', mode: 0o600, content: Buffer.from([0, 1, 2, 255]) },
        { path: 'a/sym', type: 'symlink', linkTarget: `${'t'.repeat(150)}` },
        { path: LONG, type: 'file', content: 'long', paxHeaders: { 'SCHILY.xattr.user.test': 'v' } },
      ]);
      execFileSync('tar', ['-xf', '-', '-C', dir], { input: tar, stdio: ['pipe', 'pipe', 'pipe'] });
      expect(readFileSync(join(dir, 'a/data.bin'))).toEqual(Buffer.from([0, 1, 2, 255]));
      expect(statSync(join(dir, 'a/data.bin')).mode & 0o7777).toBe(0o600);
      expect(readlinkSync(join(dir, 'a/sym'))).toBe('t'.repeat(150));
      expect(readFileSync(join(dir, LONG), 'utf8')).toBe('long');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ends with two zero blocks and pads to 512-byte blocks', () => {
    const tar = tarEntries([{ path: 'f', type: 'file', content: 'x'.repeat(513) }]);
    expect(tar.length).toBe(512 + 1024 + 1024);
    expect(tar.subarray(-1024).every((b) => b === 0)).toBe(true);
  });

  it('compresses with gzip, and with zstd through the zstd tool', () => {
    const tar = tarEntries(ENTRIES);
    expect(gunzipSync(gzip(tar))).toEqual(tar);
    expect(hasZstd()).toBe(true);
    const z = zstd(tar);
    expect(z.subarray(0, 4)).toEqual(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
    expect(execFileSync('zstd', ['-d', '-c'], { input: z })).toEqual(tar);
  });
});
