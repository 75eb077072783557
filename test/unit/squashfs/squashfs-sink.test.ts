// The squashfs destination on its own: what it writes is read back by squashfs-tools
// (unsquashfs) and squashfs-tools-ng (sqfs2tar), byte for byte, hard links as one inode, and
// the same tree always gives the same file whatever the number of compression threads.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sqfsWriterClass } from '../../../core/squashfs/native-writer.js';
import { SquashfsSink } from '../../../core/squashfs/squashfs-sink.js';
import type { ImageNode } from '../../../core/unpack/image-sink.js';
import { skipWithout } from '../../helpers/features.js';

type Node = ImageNode<number>;
const T = 1_700_000_000;
const node = (kind: Node['kind'], mode: number, extra: Partial<Node> = {}): Node => ({ kind, mode, mtime: T, size: 0, links: 1, ...extra });
const dir = (mode = 0o555): Node => node('dir', mode, { children: new Map() });

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'envlock-sqfs-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function put(sink: SquashfsSink, parent: Node, name: string, f: Node, ...chunks: (Buffer | number)[]): Promise<void> {
  const content = sink.file(name, f);
  for (const c of chunks) await (typeof c === 'number' ? content.hole(c) : content.write(c));
  await content.end();
  parent.children!.set(name, f);
}

/** A small image with every kind of entry the applier produces, in a fixed shape. */
async function writeSample(file: string, workers: number): Promise<SquashfsSink> {
  const sink = await SquashfsSink.create(file, { workers, durable: false });
  const root = dir(0o755);
  const etc = dir();
  const bin = dir();
  root.children!.set('etc', etc).set('bin', bin).set('empty-dir', dir(0o700));
  await put(sink, etc, 'os-release', node('file', 0o444), Buffer.from('ID=sample\n'));
  const tool = node('file', 0o555, { links: 2 });
  await put(sink, bin, 'tool', tool, Buffer.from('#!/bin/sh\necho hi\n'));
  bin.children!.set('tool-again', tool);
  // Spans several 128 KiB blocks, with a hole in the middle and an odd tail (a fragment).
  const big = Buffer.alloc(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
  await put(sink, bin, 'big', node('file', 0o444), big, 1 << 20, Buffer.from('tail'));
  await put(sink, etc, 'empty', node('file', 0o400));
  // Content streamed for a file that a later layer removed: not in the tree, so not in the image.
  const gone = node('file', 0o444);
  const c = sink.file('etc/gone', gone);
  await c.write(Buffer.from('removed by a later layer'));
  await c.end();
  etc.children!.set('localtime', node('symlink', 0o777, { target: '/usr/share/zoneinfo/UTC' }));
  etc.children!.set('up', node('symlink', 0o777, { target: '../../../../x' }));
  etc.children!.set('caf\u00e9 \u{1f600}', node('file', 0o444));
  await sink.finish(root);
  return sink;
}

describe('SquashfsSink', () => {
  it.skipIf(skipWithout('squashfs', sqfsWriterClass() !== undefined))('writes an image that unsquashfs lists exactly as the tree says', async () => {
    const file = path.join(tmp, 'a.sqfs');
    const sink = await writeSample(file, 2);
    const listing = run('unsquashfs', ['-lln', '-UTC', file]).split('\n').filter((l) => l.includes('squashfs-root'));
    // Directory sizes are the format's own bookkeeping; everything else is what the tree said.
    const rows = listing.map((l) => l.replace(/\s+/g, ' ').replace(/ 2023-11-14 22:13 /, ' T ').replace(/^(d\S+ 0\/0) \d+/, '$1 D'));
    expect(rows).toEqual([
      'drwxr-xr-x 0/0 D T squashfs-root',
      'dr-xr-xr-x 0/0 D T squashfs-root/bin',
      '-r--r--r-- 0/0 1348580 T squashfs-root/bin/big',
      '-r-xr-xr-x 0/0 18 T squashfs-root/bin/tool',
      '-r-xr-xr-x 0/0 18 T squashfs-root/bin/tool-again',
      'drwx------ 0/0 D T squashfs-root/empty-dir',
      'dr-xr-xr-x 0/0 D T squashfs-root/etc',
      '-r--r--r-- 0/0 0 T squashfs-root/etc/caf\u00e9 \u{1f600}',
      '-r-------- 0/0 0 T squashfs-root/etc/empty',
      'lrwxrwxrwx 0/0 23 T squashfs-root/etc/localtime -> /usr/share/zoneinfo/UTC',
      '-r--r--r-- 0/0 10 T squashfs-root/etc/os-release',
      'lrwxrwxrwx 0/0 13 T squashfs-root/etc/up -> ../../../../x',
    ]);
    expect(sink.result?.size).toBe(fs.statSync(file).size);
    expect(sink.result?.digest).toBe(`sha256:${createHash('sha256').update(fs.readFileSync(file)).digest('hex')}`);
    expect(sink.result?.settings).toEqual({ compressor: 'zstd', level: 1, blockSize: 131072 });
    expect(run('unsquashfs', ['-s', file])).toMatch(/Compression zstd\s+compression-level 1/);
  });

  it.skipIf(skipWithout('squashfs', sqfsWriterClass() !== undefined))('stores file bytes, holes and hard links as squashfs-tools-ng reads them back', async () => {
    const file = path.join(tmp, 'a.sqfs');
    await writeSample(file, 2);
    const out = path.join(tmp, 'x');
    run('unsquashfs', ['-q', '-n', '-d', out, file]);
    const big = fs.readFileSync(path.join(out, 'bin/big'));
    expect(big.length).toBe(300_000 + (1 << 20) + 4);
    expect(big.subarray(0, 300_000).every((b, i) => b === (i * 7919) % 251)).toBe(true);
    expect(big.subarray(300_000, 300_000 + (1 << 20)).every((b) => b === 0)).toBe(true);
    expect(big.subarray(-4).toString()).toBe('tail');
    expect(fs.readFileSync(path.join(out, 'etc/os-release'), 'utf8')).toBe('ID=sample\n');
    // sqfs2tar writes the second name of an inode as a tar hard link.
    const tar = path.join(tmp, 'a.tar');
    fs.writeFileSync(tar, spawnSync('sqfs2tar', [file], { maxBuffer: 64 << 20 }).stdout);
    expect(run('tar', ['-tvf', tar])).toMatch(/bin\/tool-again link to bin\/tool/);
  });

  it.skipIf(skipWithout('squashfs', sqfsWriterClass() !== undefined))('gives the same bytes for the same tree, with one compression thread or several', async () => {
    const one = await writeSample(path.join(tmp, 'one.sqfs'), 1);
    const three = await writeSample(path.join(tmp, 'three.sqfs'), 3);
    expect(three.result?.digest).toBe(one.result?.digest);
    expect(fs.readFileSync(path.join(tmp, 'three.sqfs')).equals(fs.readFileSync(path.join(tmp, 'one.sqfs')))).toBe(true);
  });

  it.skipIf(skipWithout('squashfs', sqfsWriterClass() !== undefined))('makes a fast producer wait instead of queueing without bound', async () => {
    const Writer = sqfsWriterClass()!;
    const handle = fs.openSync(path.join(tmp, 'p.sqfs'), 'wx+');
    const writer = new Writer({ fd: handle, compressor: 'zstd', level: 1, blockSize: 131072, workers: 1, durable: false, highWaterMark: 1 << 20 });
    writer.beginFile();
    let waits = 0;
    // A chunk as large as the high-water mark always asks the caller to wait for drain().
    for (let i = 0; i < 16; i++) {
      if (!writer.append(Buffer.alloc(1 << 20, i))) {
        waits++;
        await writer.drain();
      }
    }
    writer.endFile();
    expect(waits).toBeGreaterThan(0);
    await writer.abort();
    fs.closeSync(handle);
  });

  it.skipIf(skipWithout('squashfs', sqfsWriterClass() !== undefined))('refuses a malformed tree description instead of writing a broken image', async () => {
    const sink = await SquashfsSink.create(path.join(tmp, 'bad.sqfs'), { durable: false });
    const root = dir();
    root.children!.set('a/b', node('file', 0o444));
    await expect(sink.finish(root)).rejects.toMatchObject({ code: 'SQFS_TREE', message: expect.stringMatching(/invalid name/) });
  });

  it.skipIf(skipWithout('squashfs', sqfsWriterClass() !== undefined))('rejects every truncated or corrupted tree description cleanly, never crashing', async () => {
    const root = dir(0o755);
    const sub = dir();
    root.children!.set('sub', sub).set('link', node('symlink', 0o777, { target: 'sub' }));
    sub.children!.set('f', node('file', 0o444));
    const { encodeTree } = await import('../../../core/squashfs/tree-encoding.js');
    const good = Buffer.from(encodeTree(root, () => undefined));
    const Writer = sqfsWriterClass()!;
    const attempt = async (tree: Uint8Array) => {
      const fd = fs.openSync(path.join(tmp, `t-${Math.random()}.sqfs`), 'wx+');
      try {
        return await new Writer({ fd, compressor: 'zstd', level: 1, blockSize: 131072, workers: 1, durable: false }).finish(tree).then(() => 'ok', (e: { code?: string }) => e.code);
      } finally {
        fs.closeSync(fd);
      }
    };
    expect(await attempt(good)).toBe('ok');
    for (let cut = 0; cut < good.length; cut++) expect(await attempt(good.subarray(0, cut))).toBe('SQFS_TREE');
    // Every single-byte change either still describes a tree or is refused; none may crash.
    for (let at = 0; at < good.length; at++) {
      const bad = Buffer.from(good);
      bad[at] = (bad[at]! + 0x81) & 0xff;
      expect(['ok', 'SQFS_TREE']).toContain(await attempt(bad));
    }
  });

  it.skipIf(skipWithout('squashfs', sqfsWriterClass() !== undefined))('reports a full disk as ENOSPC, with the step that failed', async () => {
    const Writer = sqfsWriterClass()!;
    const full = fs.openSync('/dev/full', 'r+');
    const writer = new Writer({ fd: full, compressor: 'zstd', level: 1, blockSize: 131072, workers: 1, durable: false });
    writer.beginFile();
    writer.append(Buffer.alloc(1 << 20, 1));
    writer.endFile();
    await expect(writer.finish(new Uint8Array(0))).rejects.toMatchObject({ code: 'ENOSPC', message: expect.stringMatching(/No space left/) });
    fs.closeSync(full);
  });
});
