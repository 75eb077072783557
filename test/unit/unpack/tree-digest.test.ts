// treeDigest: the documented encoding, stability across runs and sources, and sensitivity to every
// property it claims to cover (content, mode, type, symlink target, name).

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentReporter } from '../../../core/context.js';
import type { LayerCompression } from '../../../core/oci/media-types.js';
import { applyLayer } from '../../../core/unpack/apply-layer.js';
import { treeDigest } from '../../../core/unpack/tree-digest.js';
import { gzip, tarEntries, zstd, type TarEntry } from '../../helpers/tar-writer.js';
import { makeSandbox, streamOf, zstdRawFrame, type Sandbox } from '../../helpers/hostile-layers.js';

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

async function unpack(layers: Array<{ data: Buffer; compression: LayerCompression }>): Promise<string> {
  const box = makeSandbox();
  boxes.push(box);
  for (const layer of layers) {
    await applyLayer(box.rootfs, streamOf(layer.data), { compression: layer.compression, unprivileged: true, reporter: silentReporter });
  }
  return box.rootfs;
}

describe('treeDigest', () => {
  it('follows the encoding documented in docs/security.md exactly', async () => {
    const rootfs = await unpack([{ data: tarEntries([{ path: 'd/', type: 'dir', mode: 0o750 }, { path: 'd/f', type: 'file', content: 'hi', mode: 0o640 }, { path: 'l', type: 'symlink', linkTarget: '../x' }]), compression: 'none' }]);
    const fileHash = createHash('sha256').update('hi').digest('hex');
    const records = ['d\0d\x000750\0\0', `d/f\0f\x000640\0${fileHash}\0`, 'l\0l\x000777\0../x\0'];
    const expected = `sha256:${createHash('sha256').update(records.join('')).digest('hex')}`;
    expect(await treeDigest(rootfs)).toBe(expected);
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
      const rootfs = await unpack([layer]);
      digests.add(await treeDigest(rootfs));
      digests.add(await treeDigest(rootfs));
    }
    expect(digests.size).toBe(1);
    expect([...digests][0]).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('is the same whether files arrive in one layer or are split and overwritten across layers', async () => {
    const one = await unpack([{ data: tarEntries(IMAGE), compression: 'none' }]);
    const split = await unpack([
      { data: tarEntries([...IMAGE.slice(0, 4), { path: 'B', type: 'file', content: 'old' }, { path: 'junk', type: 'file', content: 'x' }]), compression: 'none' },
      { data: tarEntries([...IMAGE.slice(4), { path: '.wh.junk', type: 'file' }]), compression: 'none' },
    ]);
    expect(await treeDigest(split)).toBe(await treeDigest(one));
  });

  it.each([
    ['file content', (r: string) => fs.writeFileSync(path.join(r, 'B'), 'changed')],
    ['a mode', (r: string) => fs.chmodSync(path.join(r, 'B'), 0o600)],
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
    const rootfs = await unpack([{ data: tarEntries(IMAGE), compression: 'none' }]);
    const before = await treeDigest(rootfs);
    mutate(rootfs);
    expect(await treeDigest(rootfs)).not.toBe(before);
  });

  it('hashes a hard-linked file like an independent copy, and ignores mtimes', async () => {
    const rootfs = await unpack([{ data: tarEntries(IMAGE), compression: 'none' }]);
    const before = await treeDigest(rootfs);
    const b = path.join(rootfs, 'usr/bin/b');
    fs.unlinkSync(b);
    fs.writeFileSync(b, 'binary', { mode: 0o755 });
    fs.chmodSync(b, 0o755);
    fs.utimesSync(path.join(rootfs, 'B'), 1, 1);
    expect(await treeDigest(rootfs)).toBe(before);
  });
});
