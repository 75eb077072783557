// Hostile layers, each named after the advisory it reproduces: whatever the layer does, nothing
// outside the rootfs changes (the sentinel directory beside it is snapshotted before and after).

import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tarEntries } from '../../helpers/tar-writer.js';
import { CANARY_TEXT, makeSandbox, snapshotOutside, type Sandbox } from '../../helpers/hostile-layers.js';
import { destination } from '../../helpers/unpack-destinations.js';
import { MATRIX, refused, succeeded, unpack, type LayerSpec } from '../../helpers/unpack-matrix.js';
import type { UnpackOutcome } from '../../helpers/unpack-runner.js';

describe.each(MATRIX)('hostile layers ($destination, as $caller)', (way) => {
let box: Sandbox;
let before: string;
beforeEach(() => {
  box = makeSandbox();
  before = snapshotOutside(box);
});
afterEach(() => {
  try {
    // The invariant of every test here: the sentinel directory and the canary are untouched.
    expect(snapshotOutside(box)).toBe(before);
    expect(fs.readFileSync(box.canary, 'utf8')).toBe(CANARY_TEXT);
    expect(fs.statSync(box.canary).nlink).toBe(1);
  } finally {
    box.cleanup();
  }
});

/** Unpacks the layers in order (tar entries or raw bytes), through this way's destination and caller. */
const run = (...layers: LayerSpec[]) => unpack(box, way, layers.map((layer) => (Array.isArray(layer) ? { data: tarEntries(layer), layerName: 'layer 1 of test/hostile' } : layer)));
const apply = async (...layers: LayerSpec[]) => succeeded(await run(...layers));
const rejected = async (outcome: Promise<UnpackOutcome>, code: string, message: RegExp) => refused(await outcome, code, message);

const inRoot = (rel: string) => path.join(destination(way.destination).view(box.rootfs), rel);
/** The sentinel's absolute host path, as an attacker would spell it inside the archive. */
const hostOutside = () => box.outside;

describe('path traversal', () => {
  it('Zip-Slip / CVE-2019-14271-style: refuses "../" names, naming the entry and the layer', async () => {
    await rejected(run([{ path: '../outside/canary.txt', type: 'file', content: 'pwned' }]), 'LAYER_UNSAFE_PATH', /^The entry "\.\.\/outside\/canary\.txt" in layer 1 of test\/hostile has a "\.\." component in its path/);
    await rejected(run([{ path: 'a/b/../../../outside/new.txt', type: 'file', content: 'pwned' }]), 'LAYER_UNSAFE_PATH', /"a\/b\/\.\.\/\.\.\/\.\.\/outside\/new\.txt"/);
  });

  it('CVE-2021-32804 (node-tar): absolute and ////-prefixed names stay inside the rootfs', async () => {
    await apply([
      { path: `${hostOutside()}/canary.txt`, type: 'file', content: 'inside' },
      { path: '////etc/passwd', type: 'file', content: 'root:x:0:0::/root:/bin/sh\n' },
    ]);
    expect(fs.readFileSync(inRoot(`${hostOutside()}/canary.txt`), 'utf8')).toBe('inside');
    expect(fs.readFileSync(inRoot('etc/passwd'), 'utf8')).toMatch(/^root:/);
  });

  it('umoci CVE-2021-29136: refuses an entry that would replace the root with a symlink', async () => {
    await rejected(run([{ path: './', type: 'symlink', linkTarget: hostOutside() }]), 'LAYER_UNSAFE_PATH', /would replace the root directory/);
    await rejected(run([{ path: '.', type: 'file', content: 'x' }]), 'LAYER_UNSAFE_PATH', /would replace the root directory/);
  });
});

describe('symlink escapes', () => {
  it('CVE-2021-32803 (node-tar) / moby CVE-2014-9356: a symlink planted in the same layer is resolved inside the rootfs', async () => {
    await apply([
      { path: 'escape', type: 'symlink', linkTarget: hostOutside() },
      { path: 'escape/canary.txt', type: 'file', content: 'pwned' },
      { path: 'climb', type: 'symlink', linkTarget: '../../../../../../..' },
      { path: `climb/${path.basename(box.parent)}/outside/canary.txt`, type: 'file', content: 'pwned' },
    ]);
    expect(fs.readlinkSync(inRoot('escape'))).toBe(hostOutside());
    expect(fs.readFileSync(inRoot(`${hostOutside()}/canary.txt`), 'utf8')).toBe('pwned');
    expect(fs.readFileSync(inRoot(`${path.basename(box.parent)}/outside/canary.txt`), 'utf8')).toBe('pwned');
  });

  it('moby CVE-2014-6407: a symlink from a lower layer is resolved inside the rootfs by later layers', async () => {
    await apply([{ path: 'evil', type: 'symlink', linkTarget: `${hostOutside()}/sub` }], [
      { path: 'evil/keep.txt', type: 'file', content: 'pwned' },
      { path: 'evil/', type: 'dir', mode: 0o777 },
    ]);
    expect(fs.lstatSync(inRoot('evil')).isDirectory()).toBe(true);
    expect(fs.readFileSync(inRoot(`${hostOutside()}/sub/keep.txt`), 'utf8')).toBe('pwned');
  });

  it('CVE-2021-32803 (node-tar dir-cache poisoning): a directory replaced by a symlink is not written through', async () => {
    await apply([
      { path: 'x/', type: 'dir' },
      { path: 'x/first.txt', type: 'file', content: 'ok' },
      { path: 'x', type: 'symlink', linkTarget: hostOutside() },
      { path: 'x/canary.txt', type: 'file', content: 'pwned' },
    ]);
    expect(fs.readlinkSync(inRoot('x'))).toBe(hostOutside());
    expect(fs.readFileSync(inRoot(`${hostOutside()}/canary.txt`), 'utf8')).toBe('pwned');
    expect(fs.existsSync(inRoot(`${hostOutside()}/first.txt`))).toBe(false);
  });

  it('symlink chains climbing past the root are clamped at the rootfs', async () => {
    await apply([
      { path: 'a', type: 'symlink', linkTarget: 'b' },
      { path: 'b', type: 'symlink', linkTarget: 'c/d' },
      { path: 'c/d', type: 'symlink', linkTarget: '../../../../../../../../tmp' },
      { path: 'a/chained.txt', type: 'file', content: 'clamped' },
    ]);
    expect(fs.readFileSync(inRoot('tmp/chained.txt'), 'utf8')).toBe('clamped');
  });

  it('a symlink loop is refused (ELOOP), like the kernel would after 40 hops', async () => {
    await rejected(
      run([
        { path: 'loop1', type: 'symlink', linkTarget: 'loop2' },
        { path: 'loop2', type: 'symlink', linkTarget: '/loop1' },
        { path: 'loop1/x', type: 'file', content: 'x' },
      ]),
      'LAYER_UNSAFE_PATH',
      /^The entry "loop1\/x" in layer 1 of test\/hostile is reached through too many symbolic links\.$/,
    );
  });

  it('a hard link to a symlink that replaces a cached directory is not written through (cache invalidation)', async () => {
    await apply([{ path: 's', type: 'symlink', linkTarget: hostOutside() }], [
      { path: 'x/', type: 'dir' },
      { path: 'x/first.txt', type: 'file', content: 'caches x as a directory' },
      { path: 'x', type: 'hardlink', linkTarget: 's' },
      { path: 'x/canary.txt', type: 'file', content: 'inside' },
    ]);
    expect(fs.readlinkSync(inRoot('x'))).toBe(hostOutside());
    expect(fs.readFileSync(inRoot(`${hostOutside()}/canary.txt`), 'utf8')).toBe('inside');
  });

  it('a file is never written through a symlink in the final position (O_NOFOLLOW, remove then recreate)', async () => {
    await apply([{ path: 'etc/hosts', type: 'symlink', linkTarget: box.canary }], [{ path: 'etc/hosts', type: 'file', content: 'replaced the link, not its target' }]);
    expect(fs.lstatSync(inRoot('etc/hosts')).isFile()).toBe(true);
  });
});

describe('hard-link escapes', () => {
  it('CVE-2026-24842 (node-tar): refuses a hard link whose target climbs out with ".."', async () => {
    await rejected(run([{ path: 'h', type: 'hardlink', linkTarget: '../outside/canary.txt' }]), 'LAYER_UNSAFE_PATH', /^The entry "\.\.\/outside\/canary\.txt" in layer 1 of test\/hostile has a "\.\." component in its hard-link target/);
  });

  it('CVE-2026-23745 (node-tar): an absolute hard-link target names a path inside the rootfs', async () => {
    await rejected(run([{ path: 'h', type: 'hardlink', linkTarget: box.canary }]), 'LAYER_CORRUPT', /^layer 1 of test\/hostile is not a valid layer archive: the hard link "h" points to ".*canary\.txt", which is not in the image\.$/);
  });

  it('CVE-2026-26960 (node-tar): refuses a hard link whose target passes through a symlink', async () => {
    await rejected(
      run([
        { path: 'esc', type: 'symlink', linkTarget: hostOutside() },
        { path: 'h', type: 'hardlink', linkTarget: 'esc/canary.txt' },
      ]),
      'LAYER_UNSAFE_PATH',
      /^The entry "h" in layer 1 of test\/hostile names a hard-link target through a symbolic link\.$/,
    );
    await rejected(
      run([
        { path: 'a/b/c/up', type: 'symlink', linkTarget: '../..' },
        { path: 'a/b/escape', type: 'symlink', linkTarget: 'c/up/../..' },
        { path: 'exfil', type: 'hardlink', linkTarget: 'a/b/escape/canary.txt' },
      ]),
      'LAYER_UNSAFE_PATH',
      /hard-link target through a symbolic link/,
    );
  });

  it('refuses a hard link to a directory', async () => {
    await rejected(run([{ path: 'd/', type: 'dir' }, { path: 'h', type: 'hardlink', linkTarget: 'd' }]), 'LAYER_UNSAFE_PATH', /is a hard link to a directory or special file/);
  });
});

describe('whiteouts aimed outside', () => {
  it.each([
    ['.wh...', 'the parent'],
    ['.wh..', 'the directory itself'],
    ['.wh.', 'no name'],
    ['sub/.wh...', 'the parent of a subdirectory'],
  ])('refuses the whiteout %s (%s), as containerd validateWhiteout does', async (name) => {
    await rejected(run([{ path: name, type: 'file' }]), 'LAYER_UNSAFE_PATH', /is a whiteout that names no file, or the directory itself or its parent/);
  });

  it('refuses a whiteout with ".." in its path', async () => {
    await rejected(run([{ path: '../outside/.wh.canary.txt', type: 'file' }]), 'LAYER_UNSAFE_PATH', /has a "\.\." component/);
  });

  it('resolves whiteouts and opaque markers below a symlink inside the rootfs, and deletes only the link itself', async () => {
    await apply([
      { path: 'link', type: 'symlink', linkTarget: hostOutside() },
      { path: 'rel', type: 'symlink', linkTarget: '../../../outside' },
    ], [
      { path: 'link/.wh.canary.txt', type: 'file' },
      { path: 'link/sub/.wh..wh..opq', type: 'file' },
      { path: 'rel/.wh.sub', type: 'file' },
      { path: '.wh.link', type: 'file' },
    ]);
    expect(fs.existsSync(inRoot('link'))).toBe(false);
    expect(fs.readlinkSync(inRoot('rel'))).toBe('../../../outside');
  });
});

describe('special files and modes', () => {
  it('skips character and block devices and FIFOs with one line, told as info', async () => {
    const outcome = await apply([
      { path: 'dev/', type: 'dir' },
      { path: 'dev/null', type: 'char', devMajor: 1, devMinor: 3 },
      { path: 'dev/sda', type: 'block', devMajor: 8, devMinor: 0 },
      { path: 'run/initctl', type: 'fifo' },
      { path: 'dev/mem', type: 'char', devMajor: 1, devMinor: 1 },
    ]);
    expect(fs.readdirSync(inRoot('dev'))).toEqual([]);
    expect(fs.existsSync(inRoot('run'))).toBe(false);
    expect(outcome.results[0]!.warnings).toEqual([
      'Skipped 4 device nodes and FIFOs (an unprivileged unpack cannot create them; the runtime provides /dev): "dev/null", "dev/sda", "run/initctl" and 1 more.',
    ]);
    expect(outcome.info).toEqual(outcome.results[0]!.warnings);
  });

  it('drops setuid and setgid bits (no privilege can be planted), and tells the reporter as info, not a warning', async () => {
    const outcome = await apply([{ path: 'usr/bin/sudo', type: 'file', mode: 0o6755, content: 'x' }, { path: 'dev/null', type: 'char', devMajor: 1, devMinor: 3 }]);
    expect(fs.statSync(inRoot('usr/bin/sudo')).mode & 0o7777).toBe(0o555);
    expect(outcome.info[0]).toMatch(/^Skipped 1 device node/);
    expect(outcome.info[1]).toMatch(/^Dropped the setuid\/setgid bit from 1 file/);
    expect(outcome.warn).toEqual([]);
  });

  it('warns about, and skips, entry types it does not unpack (through reporter.warn)', async () => {
    const outcome = await apply([{ path: 'volume', type: 'file', content: 'x', typeflag: 'V' }, { path: 'after.txt', type: 'file', content: 'ok' }]);
    expect(outcome.warn).toEqual([expect.stringMatching(/^Skipped 1 entry of a type envlock does not unpack: "volume \(type \\"V\\"\)"\.$/)]);
    expect(fs.readFileSync(inRoot('after.txt'), 'utf8')).toBe('ok');
  });
});

describe('Unicode and case collisions', () => {
  it('CVE-2021-37712 (node-tar): NFC and NFD names stay distinct, and neither escapes', async () => {
    const nfc = 'caf\u00e9';
    const nfd = 'cafe\u0301';
    await apply([
      { path: `${nfc}/`, type: 'dir' },
      { path: nfd, type: 'symlink', linkTarget: hostOutside() },
      { path: `${nfc}/canary.txt`, type: 'file', content: 'in the NFC directory' },
      { path: `${nfd}/canary.txt`, type: 'file', content: 'through the NFD link, inside' },
    ]);
    expect(fs.readFileSync(inRoot(`${nfc}/canary.txt`), 'utf8')).toBe('in the NFC directory');
    expect(fs.readlinkSync(inRoot(nfd))).toBe(hostOutside());
    expect(fs.readFileSync(inRoot(`${hostOutside()}/canary.txt`), 'utf8')).toBe('through the NFD link, inside');
  });

  it('CVE-2021-37701 (node-tar): names differing in case stay distinct', async () => {
    await apply([
      { path: 'x/', type: 'dir' },
      { path: 'X', type: 'symlink', linkTarget: hostOutside() },
      { path: 'x/canary.txt', type: 'file', content: 'lower-case dir' },
    ]);
    expect(fs.readFileSync(inRoot('x/canary.txt'), 'utf8')).toBe('lower-case dir');
  });
});
});
