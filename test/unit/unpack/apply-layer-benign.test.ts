// Benign layers unpack exactly, through every destination: files, sealed modes (sticky kept),
// symlinks kept verbatim, hard links, whiteouts and opaque directories (in any order),
// duplicates, merged /usr, gzip and zstd, DiffID checks.

import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gzip, hasZstd, tarEntries, zstd, type TarEntry } from '../../helpers/tar-writer.js';
import { listRootfs, makeSandbox, sha256, zstdRawFrame, type Sandbox } from '../../helpers/hostile-layers.js';
import { destination } from '../../helpers/unpack-destinations.js';
import { AS_ROOT, refused, succeeded, unpack, type LayerSpec } from '../../helpers/unpack-matrix.js';

describe.each(AS_ROOT)('benign layers ($destination)', (way) => {
  let box: Sandbox;
  beforeEach(() => {
    box = makeSandbox();
  });
  afterEach(() => box.cleanup());

  const apply = async (...layers: LayerSpec[]) => succeeded(await unpack(box, way, layers));
  const at = (rel: string) => path.join(destination(way.destination).view(box.rootfs), rel);
  const modeOf = (rel: string) => fs.lstatSync(at(rel)).mode & 0o7777;
  const list = () => listRootfs(destination(way.destination).view(box.rootfs));

  it('writes files without write bits, and later layers still replace, remove and link them', async () => {
    await apply(
      [
        { path: 'etc/', type: 'dir', mode: 0o755 },
        { path: 'etc/passwd', type: 'file', content: 'v1', mode: 0o644 },
        { path: 'etc/gone', type: 'file', content: 'x', mode: 0o664 },
        { path: 'usr/bin/tool', type: 'file', content: 'run', mode: 0o775 },
        { path: 'etc/shadow', type: 'file', content: 's', mode: 0o000 },
      ],
      [
        { path: 'etc/passwd', type: 'file', content: 'v2', mode: 0o600 },
        { path: 'etc/.wh.gone', type: 'file', content: '' },
        { path: 'etc/tool-link', type: 'hardlink', linkTarget: 'usr/bin/tool' },
      ],
    );
    expect(fs.readFileSync(at('etc/passwd'), 'utf8')).toBe('v2');
    expect(modeOf('etc/passwd')).toBe(0o400);
    expect(modeOf('usr/bin/tool')).toBe(0o555);
    expect(modeOf('etc/shadow')).toBe(0o400);
    expect(modeOf('etc')).toBe(0o555);
    expect(modeOf('')).toBe(0o555);
    expect(fs.existsSync(at('etc/gone'))).toBe(false);
    expect(fs.statSync(at('etc/tool-link')).ino).toBe(fs.statSync(at('usr/bin/tool')).ino);
  });

  it('writes files, directories and their contents, and reports the DiffID', async () => {
    const tar = tarEntries([
      { path: 'etc/', type: 'dir', mode: 0o755 },
      { path: 'etc/hostname', type: 'file', content: 'box\n', mode: 0o644, mtime: 1_700_000_000 },
      { path: './usr/bin/tool', type: 'file', content: '#!/bin/sh\n', mode: 0o755 },
      { path: '/opt/abs.txt', type: 'file', content: 'absolute names land inside\n' },
    ]);
    const outcome = await apply(tar);
    const result = outcome.results[0]!;
    expect(result.diffId).toBe(sha256(tar));
    expect(result.entries).toBe(4);
    expect(result.bytes).toBe(tar.length);
    expect(result.warnings).toEqual([]);
    expect(list()).toEqual([
      'etc/ 0555',
      'etc/hostname 0444 "box\\n"',
      'opt/ 0555',
      'opt/abs.txt 0444 "absolute names land inside\\n"',
      'usr/ 0555',
      'usr/bin/ 0555',
      'usr/bin/tool 0555 "#!/bin/sh\\n"',
    ]);
    expect(fs.statSync(at('etc/hostname')).mtimeMs).toBe(1_700_000_000_000);
  });

  it('stores sealed modes: no write bits, no setuid or setgid, owner access kept, the sticky bit kept on directories', async () => {
    const outcome = await apply([
      { path: 'bin/su', type: 'file', mode: 0o4755, content: 'x' },
      { path: 'bin/wall', type: 'file', mode: 0o2755, content: 'x' },
      { path: 'etc/shadow', type: 'file', mode: 0o000, content: 'secret' },
      { path: 'shared.txt', type: 'file', mode: 0o666, content: 'x' },
      { path: 'tmp/', type: 'dir', mode: 0o1777 },
      { path: 'var/tmp/', type: 'dir', mode: 0o1777 },
      { path: 'sticky-file', type: 'file', mode: 0o1755, content: 'x' },
      { path: 'setgid-dir/', type: 'dir', mode: 0o2775 },
      { path: 'ro/', type: 'dir', mode: 0o500 },
      { path: 'ro/child.txt', type: 'file', content: 'written although ro/ is 0500' },
      { path: 'locked/', type: 'dir', mode: 0o000 },
      { path: 'locked/inner/', type: 'dir', mode: 0o555 },
      { path: 'locked/inner/f', type: 'file', content: 'deep' },
    ]);
    expect(modeOf('bin/su')).toBe(0o555);
    expect(modeOf('bin/wall')).toBe(0o555);
    expect(modeOf('etc/shadow')).toBe(0o400);
    expect(modeOf('shared.txt')).toBe(0o444);
    // issue 13.5: /tmp keeps its sticky bit although its world-write bit is gone.
    expect(modeOf('tmp')).toBe(0o1555);
    expect(modeOf('var/tmp')).toBe(0o1555);
    expect(modeOf('sticky-file')).toBe(0o555);
    expect(modeOf('setgid-dir')).toBe(0o555);
    expect(modeOf('ro')).toBe(0o500);
    expect(modeOf('locked')).toBe(0o500);
    expect(modeOf('locked/inner')).toBe(0o555);
    expect(fs.readFileSync(at('locked/inner/f'), 'utf8')).toBe('deep');
    expect(fs.readFileSync(at('ro/child.txt'), 'utf8')).toBe('written although ro/ is 0500');
    expect(outcome.info).toEqual([expect.stringMatching(/^Dropped the setuid\/setgid bit from 2 files .*"bin\/su", "bin\/wall"\.$/)]);
  });

  it('stores symlink targets exactly as written, absolute and climbing ones included', async () => {
    await apply([
      { path: 'usr/share/zoneinfo/UTC', type: 'file', content: 'TZif' },
      { path: 'etc/localtime', type: 'symlink', linkTarget: '/usr/share/zoneinfo/UTC' },
      { path: 'usr/lib/x/deep', type: 'symlink', linkTarget: '../../../../../lib/foo' },
      { path: 'dangling', type: 'symlink', linkTarget: 'nowhere/at/all' },
    ]);
    expect(fs.readlinkSync(at('etc/localtime'))).toBe('/usr/share/zoneinfo/UTC');
    expect(fs.readlinkSync(at('usr/lib/x/deep'))).toBe('../../../../../lib/foo');
    expect(fs.readlinkSync(at('dangling'))).toBe('nowhere/at/all');
  });

  it('makes hard links within a layer and across layers', async () => {
    await apply(
      [
        { path: 'bin/', type: 'dir' },
        { path: 'bin/gzip', type: 'file', mode: 0o755, content: 'gzip binary' },
        { path: 'bin/gunzip', type: 'hardlink', linkTarget: 'bin/gzip' },
      ],
      [{ path: 'bin/zcat', type: 'hardlink', linkTarget: '/bin/gzip' }],
    );
    const inode = fs.statSync(at('bin/gzip')).ino;
    expect(fs.statSync(at('bin/gunzip')).ino).toBe(inode);
    expect(fs.statSync(at('bin/zcat')).ino).toBe(inode);
    expect(fs.statSync(at('bin/gzip')).nlink).toBe(3);
  });

  it('applies whiteouts to lower layers only, in any order within the layer', async () => {
    const outcome = await apply(
      [
        { path: 'a/old.txt', type: 'file', content: 'lower' },
        { path: 'a/keep.txt', type: 'file', content: 'lower' },
        { path: 'gone/sub/x', type: 'file', content: 'lower' },
        { path: 'also-gone', type: 'symlink', linkTarget: '/etc' },
      ],
      [
        { path: 'a/new.txt', type: 'file', content: 'upper' },
        { path: 'a/.wh.old.txt', type: 'file' },
        { path: '.wh.gone', type: 'file' },
        { path: '.wh.also-gone', type: 'file' },
        { path: 'a/.wh.new.txt', type: 'file' },
        { path: '.wh.never-existed', type: 'file' },
      ],
    );
    expect(outcome.warn).toEqual([]);
    expect(list()).toEqual(['a/ 0555', 'a/keep.txt 0444 "lower"', 'a/new.txt 0444 "upper"']);
  });

  it('a whiteout of a lower directory keeps what this layer put inside it, in either order', async () => {
    await apply(
      [
        { path: 'w/old.txt', type: 'file', content: 'lower' },
        { path: 'v/old.txt', type: 'file', content: 'lower' },
      ],
      [
        { path: 'w/new.txt', type: 'file', content: 'upper' },
        { path: '.wh.w', type: 'file' },
        { path: '.wh.v', type: 'file' },
        { path: 'v/new.txt', type: 'file', content: 'upper' },
      ],
    );
    expect(list()).toEqual(['v/ 0555', 'v/new.txt 0444 "upper"', 'w/ 0555', 'w/new.txt 0444 "upper"']);
  });

  it('replaces a file that is hard-linked in a lower layer without changing the other link', async () => {
    await apply(
      [
        { path: 'a', type: 'file', content: 'shared' },
        { path: 'b', type: 'hardlink', linkTarget: 'a' },
      ],
      [{ path: 'b', type: 'file', content: 'new b' }],
    );
    expect(fs.readFileSync(at('a'), 'utf8')).toBe('shared');
    expect(fs.readFileSync(at('b'), 'utf8')).toBe('new b');
    expect(fs.statSync(at('a')).nlink).toBe(1);
  });

  it('a hard link that would replace the directory holding its own target is LAYER_CORRUPT', async () => {
    const outcome = await unpack(box, way, [[{ path: 'd/f', type: 'file', content: 'x' }, { path: 'd', type: 'hardlink', linkTarget: 'd/f' }]]);
    refused(outcome, 'LAYER_CORRUPT', /the hard link "d" replaces the directory that holds its own target/);
  });

  it.each([
    ['before its siblings', true],
    ['after its siblings', false],
  ])('empties an opaque directory of lower entries only, marker %s', async (_name, markerFirst) => {
    const marker: TarEntry = { path: 'd/.wh..wh..opq', type: 'file' };
    const siblings: TarEntry[] = [
      { path: 'd/', type: 'dir' },
      { path: 'd/sub/', type: 'dir' },
      { path: 'd/sub/upper.txt', type: 'file', content: 'upper' },
      { path: 'd/top.txt', type: 'file', content: 'upper' },
    ];
    await apply(
      [
        { path: 'd/lower.txt', type: 'file', content: 'lower' },
        { path: 'd/sub/lower2.txt', type: 'file', content: 'lower' },
        { path: 'd/sub2/', type: 'dir' },
        { path: 'other.txt', type: 'file', content: 'untouched' },
      ],
      markerFirst ? [marker, ...siblings] : [...siblings, marker],
    );
    expect(list()).toEqual(['d/ 0555', 'd/sub/ 0555', 'd/sub/upper.txt 0444 "upper"', 'd/top.txt 0444 "upper"', 'other.txt 0444 "untouched"']);
  });

  it('lets a later duplicate entry win, replacing files by directories and back', async () => {
    await apply(
      [
        { path: 'dup.txt', type: 'file', content: 'first' },
        { path: 'dup.txt', type: 'file', content: 'second', mode: 0o600 },
        { path: 'x', type: 'file', content: 'file first' },
        { path: 'x/', type: 'dir' },
        { path: 'x/in.txt', type: 'file', content: 'inside' },
        { path: 'y/', type: 'dir' },
        { path: 'y/in.txt', type: 'file', content: 'will go' },
        { path: 'y', type: 'symlink', linkTarget: 'x' },
      ],
      [{ path: 'x', type: 'file', content: 'file again' }],
    );
    expect(list()).toEqual(['dup.txt 0400 "second"', 'x 0444 "file again"', 'y -> x']);
  });

  it('writes through merged-/usr directory symlinks into usr/lib, as later Debian layers expect', async () => {
    await apply(
      [
        { path: 'usr/lib/x86_64-linux-gnu/', type: 'dir' },
        { path: 'lib', type: 'symlink', linkTarget: 'usr/lib' },
        { path: 'lib64', type: 'symlink', linkTarget: '/usr/lib' },
      ],
      [
        { path: 'lib/x86_64-linux-gnu/libfoo.so.1', type: 'file', content: 'foo' },
        { path: 'lib64/ld-linux.so', type: 'file', content: 'ld' },
        { path: 'lib/x86_64-linux-gnu/libfoo.so', type: 'symlink', linkTarget: 'libfoo.so.1' },
      ],
    );
    expect(fs.readlinkSync(at('lib'))).toBe('usr/lib');
    expect(fs.readFileSync(at('usr/lib/x86_64-linux-gnu/libfoo.so.1'), 'utf8')).toBe('foo');
    expect(fs.readFileSync(at('usr/lib/ld-linux.so'), 'utf8')).toBe('ld');
    expect(fs.readlinkSync(at('usr/lib/x86_64-linux-gnu/libfoo.so'))).toBe('libfoo.so.1');
  });

  it('reads long names from PAX headers and keeps backslashes and Unicode names as they are', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(150)}.txt`;
    const nfc = 'caf\u00e9.txt';
    const nfd = 'cafe\u0301.txt';
    await apply([
      { path: long, type: 'file', content: 'long' },
      { path: 'back\\slash.txt', type: 'file', content: 'bs' },
      { path: nfc, type: 'file', content: 'nfc' },
      { path: nfd, type: 'file', content: 'nfd' },
      { path: '\ufeffbom.txt', type: 'file', content: 'a byte-order mark is part of the name' },
    ]);
    expect(fs.readFileSync(at(long), 'utf8')).toBe('long');
    expect(fs.readFileSync(at('back\\slash.txt'), 'utf8')).toBe('bs');
    expect(fs.readFileSync(at(nfc), 'utf8')).toBe('nfc');
    expect(fs.readFileSync(at(nfd), 'utf8')).toBe('nfd');
    expect(fs.readFileSync(at('\ufeffbom.txt'), 'utf8')).toMatch(/^a byte-order mark/);
  });

  it('accepts an empty layer (1024 zero bytes, and an empty stream)', async () => {
    const empty = Buffer.alloc(1024);
    expect((await apply(empty)).results[0]).toMatchObject({ entries: 0, bytes: 1024, diffId: sha256(empty) });
    box.cleanup();
    box = makeSandbox();
    expect((await apply(Buffer.alloc(0))).results[0]).toMatchObject({ entries: 0, bytes: 0 });
    expect(fs.readdirSync(at(''))).toEqual([]);
  });

  it('accepts a tar without its end-of-archive blocks, and hashes bytes after the marker into the DiffID', async () => {
    const tar = tarEntries([{ path: 'a.txt', type: 'file', content: 'a' }]);
    const unterminated = tar.subarray(0, tar.length - 1024);
    const padded = Buffer.concat([tar, Buffer.alloc(10240 - tar.length)]);
    const outcome = await apply(unterminated, padded);
    expect(outcome.results[0]).toMatchObject({ entries: 1, diffId: sha256(unterminated) });
    expect(outcome.results[1]).toMatchObject({ entries: 1, bytes: 10240, diffId: sha256(padded) });
    expect(fs.readFileSync(at('a.txt'), 'utf8')).toBe('a');
  });

  it('unpacks gzip layers, multi-member gzip included, hashing the uncompressed tar', async () => {
    const tar = tarEntries([{ path: 'g.txt', type: 'file', content: 'gzip' }]);
    const twoMembers = Buffer.concat([gzip(tar.subarray(0, 700)), gzip(tar.subarray(700))]);
    const outcome = await apply({ data: twoMembers, chunkSize: 100, compression: 'gzip', expectedDiffId: sha256(tar) });
    expect(outcome.results[0]!.diffId).toBe(sha256(tar));
    expect(fs.readFileSync(at('g.txt'), 'utf8')).toBe('gzip');
  });

  it('unpacks zstd layers from hand-built raw-block frames', async () => {
    const tar = tarEntries([
      { path: 'z.txt', type: 'file', content: 'zstd' },
      { path: 'big.bin', type: 'file', content: Buffer.alloc(300_000, 1) },
    ]);
    const outcome = await apply({ data: zstdRawFrame(tar), chunkSize: 1000, compression: 'zstd' });
    expect(outcome.results[0]!.diffId).toBe(sha256(tar));
    expect(fs.readFileSync(at('z.txt'), 'utf8')).toBe('zstd');
    expect(fs.statSync(at('big.bin')).size).toBe(300_000);
  });

  it('unpacks zstd layers compressed by the zstd tool, several frames in a row included', async () => {
    // The zstd CLI is part of the test machine's toolset (see docs/security.md); a missing tool fails loudly.
    expect(hasZstd()).toBe(true);
    const tar = tarEntries([{ path: 'cli.txt', type: 'file', content: 'compressed '.repeat(500) }]);
    const outcome = await apply({ data: Buffer.concat([zstd(tar.subarray(0, 1000)), zstd(tar.subarray(1000))]), compression: 'zstd' });
    expect(outcome.results[0]!.diffId).toBe(sha256(tar));
    expect(fs.readFileSync(at('cli.txt'), 'utf8')).toBe('compressed '.repeat(500));
  });

  it('refuses a layer whose DiffID differs from the config', async () => {
    const wrong = `sha256:${'0'.repeat(64)}`;
    const outcome = await unpack(box, way, [{ data: tarEntries([{ path: 'f', type: 'file', content: 'x' }]), expectedDiffId: wrong }]);
    refused(outcome, 'DIFF_ID_MISMATCH', /^The uncompressed content of layer 000000000000 has digest sha256:[0-9a-f]{64}, but the image config says sha256:0{64}\.$/);
  });
});
