// treeDigest: the documented encoding, stability across runs and sources, and sensitivity to every
// property it claims to cover (content, mode, type, symlink target, name).

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { treeDigest } from '../../../core/unpack/tree-digest.js';
import { gzip, tarEntries, zstd, type TarEntry } from '../../helpers/tar-writer.js';
import { makeSandbox, zstdRawFrame, type Sandbox } from '../../helpers/hostile-layers.js';
import { succeeded, unpack, type LayerSpec } from '../../helpers/unpack-matrix.js';

const boxes: Sandbox[] = [];
beforeEach(() => {
  boxes.length = 0;
});
afterEach(() => {
  for (const box of boxes) box.cleanup();
});

const IMAGE: TarEntry[] = [
  { path: 'etc/', type: 'dir', mode: 0o755 },
  { path: 'etc/os-release', type: 'file', content: 'ID=test\n' },
  { path: 'etc/localtime', type: 'symlink', linkTarget: '/usr/share/zoneinfo/UTC' },
  { path: 'usr/bin/a', type: 'file', mode: 0o755, content: 'binary' },
  { path: 'usr/bin/b', type: 'hardlink', linkTarget: 'usr/bin/a' },
  { path: 'B', type: 'file', content: 'upper' },
  { path: 'a-b', type: 'file', content: 'dash' },
  { path: 'a/b', type: 'file', content: 'slash' },
  { path: '\u00e9', type: 'file', content: 'e-acute' },
];

/** Unpacks the layers into a fresh tree; returns where, and the digest computed from memory. */
async function unpacked(layers: LayerSpec[]): Promise<{ rootfs: string; fromMemory: string }> {
  const box = makeSandbox();
  boxes.push(box);
  const outcome = succeeded(await unpack(box, { destination: 'tree', caller: 'root' }, layers));
  return { rootfs: box.rootfs, fromMemory: outcome.treeDigest };
}
async function unpackTree(layers: LayerSpec[]): Promise<string> {
  return (await unpacked(layers)).rootfs;
}

describe('treeDigest', () => {
  it('follows the encoding documented in docs/security.md exactly', async () => {
    const { rootfs, fromMemory } = await unpacked([[{ path: 'd/', type: 'dir', mode: 0o750 }, { path: 'd/f', type: 'file', content: 'hi', mode: 0o640 }, { path: 'l', type: 'symlink', linkTarget: '../x' }]]);
    const fileHash = createHash('sha256').update('hi').digest('hex');
    // Stored (sealed) modes: 0750 becomes 0550, 0640 becomes 0440.
    const records = ['d\0d\x000550\0\0', `d/f\0f\x000440\0${fileHash}\0`, 'l\0l\x000777\0../x\0'];
    const expected = `sha256:${createHash('sha256').update(records.join('')).digest('hex')}`;
    expect(await treeDigest(rootfs)).toBe(expected);
    expect(fromMemory).toBe(expected);
  });

  it('is the same for the same image from uncompressed, gzip, zstd and raw-zstd layers, and across runs', async () => {
    const tar = tarEntries(IMAGE);
    const digests = new Set<string>();
    for (const layer of [
      { data: tar, compression: 'none' as const },
      { data: gzip(tar), compression: 'gzip' as const },
      { data: zstd(tar), compression: 'zstd' as const },
      { data: zstdRawFrame(tar), compression: 'zstd' as const },
    ]) {
      const rootfs = await unpackTree([layer]);
      digests.add(await treeDigest(rootfs));
      digests.add(await treeDigest(rootfs));
    }
    expect(digests.size).toBe(1);
    expect([...digests][0]).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('is the same whether files arrive in one layer or are split and overwritten across layers', async () => {
    const one = await unpackTree([IMAGE]);
    const split = await unpackTree([
      [...IMAGE.slice(0, 4), { path: 'B', type: 'file', content: 'old' }, { path: 'junk', type: 'file', content: 'x' }],
      [...IMAGE.slice(4), { path: '.wh.junk', type: 'file' }],
    ]);
    expect(await treeDigest(split)).toBe(await treeDigest(one));
  });

  it.each([
    ['file content', (r: string) => fs.writeFileSync(path.join(r, 'B'), 'changed')],
    ['a mode', (r: string) => fs.chmodSync(path.join(r, 'B'), 0o400)],
    ['a symlink target', (r: string) => {
      fs.unlinkSync(path.join(r, 'etc/localtime'));
      fs.symlinkSync('/usr/share/zoneinfo/CET', path.join(r, 'etc/localtime'));
    }],
    ['a name', (r: string) => fs.renameSync(path.join(r, 'B'), path.join(r, 'C'))],
    ['a type (file to empty dir)', (r: string) => {
      fs.rmSync(path.join(r, 'a/b'));
      fs.mkdirSync(path.join(r, 'a/b'), { mode: 0o755 });
      fs.chmodSync(path.join(r, 'a/b'), 0o644);
    }],
    ['an extra empty directory', (r: string) => fs.mkdirSync(path.join(r, 'new'))],
  ])('changes when %s changes', async (_what, mutate) => {
    const rootfs = await unpackTree([IMAGE]);
    const before = await treeDigest(rootfs);
    mutate(rootfs);
    expect(await treeDigest(rootfs)).not.toBe(before);
  });

  it('hashes a hard-linked file like an independent copy, and ignores mtimes', async () => {
    const rootfs = await unpackTree([IMAGE]);
    const before = await treeDigest(rootfs);
    const b = path.join(rootfs, 'usr/bin/b');
    fs.unlinkSync(b);
    fs.writeFileSync(b, 'binary');
    fs.chmodSync(b, 0o555);
    fs.utimesSync(path.join(rootfs, 'B'), 1, 1);
    expect(await treeDigest(rootfs)).toBe(before);
  });
});

describe('the tree digest from memory', () => {
  // Every kind of image the unpack tests build: the digest the applier computes while streaming
  // must be the one `envlock verify` recomputes from disk later.
  const images: Array<[string, LayerSpec[]]> = [
    ['the reference image', [IMAGE]],
    ['layers with whiteouts, an opaque directory and replacements', [
      [...IMAGE, { path: 'opq/lower', type: 'file', content: 'x' }, { path: 'dir-to-file/x', type: 'file', content: 'x' }],
      [{ path: 'opq/.wh..wh..opq', type: 'file' }, { path: 'opq/upper', type: 'file', content: 'y' }, { path: 'dir-to-file', type: 'file', content: 'now a file' }, { path: '.wh.B', type: 'file' }],
    ]],
    ['sticky, setuid, 0000 and odd modes', [[
      { path: 'tmp/', type: 'dir', mode: 0o1777 },
      { path: 'locked/', type: 'dir', mode: 0o000 },
      { path: 'locked/f', type: 'file', mode: 0o000, content: 'x' },
      { path: 'su', type: 'file', mode: 0o4755, content: 'x' },
    ]]],
    ['names that sort differently by UTF-16 and by bytes', [[
      { path: '\u{1f600}/x', type: 'file', content: 'emoji dir' },
      { path: '\uffff', type: 'file', content: 'last BMP' },
      { path: '\ue000', type: 'file', content: 'private use' },
      { path: 'a.b', type: 'file', content: 'dot' },
      { path: 'a/c', type: 'file', content: 'slash' },
      { path: 'a0', type: 'file', content: 'zero' },
    ]]],
    ['hard links across layers and a replaced link', [
      [{ path: 'x', type: 'file', content: 'shared' }, { path: 'y', type: 'hardlink', linkTarget: 'x' }],
      [{ path: 'z', type: 'hardlink', linkTarget: 'x' }, { path: 'y', type: 'file', content: 'own' }],
    ]],
    ['an empty layer', [Buffer.alloc(1024)]],
  ];

  it.each(images)('equals treeDigest of the written tree: %s', async (_name, layers) => {
    const { rootfs, fromMemory } = await unpacked(layers);
    expect(fromMemory).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await treeDigest(rootfs)).toBe(fromMemory);
  });
});
