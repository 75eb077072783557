// Malformed and oversized layers: truncation, bad headers, bombs, NUL bytes in names, global PAX
// overrides, double compression, interruption: each fails with its own code, confined to the rootfs.

import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentReporter } from '../../../core/context.js';
import { EnvlockError } from '../../../core/errors.js';
import { applyLayer, type ApplyLayerOptions } from '../../../core/unpack/apply-layer.js';
import { fsFailure } from '../../../core/unpack/unpack-errors.js';
import { gzip, tarEntries, type TarEntry } from '../../helpers/tar-writer.js';
import {
  badChecksum,
  CANARY_TEXT,
  fixChecksum,
  gnuLongNameWithNul,
  hugeSizeHeader,
  makeSandbox,
  snapshotOutside,
  streamOf,
  truncatedInsideData,
  truncatedInsideHeader,
  zstdRawFrame,
  zstdRleBomb,
  type Sandbox,
} from '../../helpers/hostile-layers.js';

let box: Sandbox;
let before: string;
beforeEach(() => {
  box = makeSandbox();
  before = snapshotOutside(box);
});
afterEach(() => {
  try {
    expect(snapshotOutside(box)).toBe(before);
    expect(fs.readFileSync(box.canary, 'utf8')).toBe(CANARY_TEXT);
  } finally {
    box.cleanup();
  }
});

function apply(data: TarEntry[] | Buffer, options: Partial<ApplyLayerOptions> = {}) {
  const tar = Buffer.isBuffer(data) ? data : tarEntries(data);
  return applyLayer(box.rootfs, streamOf(tar, 1000), { compression: 'none', unprivileged: true, reporter: silentReporter, layerName: 'layer 2 of test/bad', ...options });
}

async function rejected(promise: Promise<unknown>, code: string, message: RegExp): Promise<EnvlockError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EnvlockError);
  expect((error as EnvlockError).code).toBe(code);
  expect((error as EnvlockError).message).toMatch(message);
  expect((error as EnvlockError).exitCode).toBe(1);
  expect((error as EnvlockError).hint).toBeTruthy();
  return error as EnvlockError;
}

describe('truncated and malformed archives', () => {
  it('CVE-2021-20291 (containers/storage): an archive cut inside file data is LAYER_CORRUPT, not a hang', async () => {
    const error = await rejected(apply(truncatedInsideData()), 'LAYER_CORRUPT', /^layer 2 of test\/bad is not a valid layer archive: .*Truncated input/);
    expect(error.exitCode).toBe(1);
  });

  it('an archive cut inside a header is LAYER_CORRUPT', async () => {
    await rejected(apply(truncatedInsideHeader()), 'LAYER_CORRUPT', /ends in the middle of a 512-byte block/);
  });

  it('a header with a bad checksum is LAYER_CORRUPT', async () => {
    await rejected(apply(badChecksum()), 'LAYER_CORRUPT', /checksum failure/);
  });

  it('a header claiming 8 GiB of data that is not there is LAYER_CORRUPT', async () => {
    await rejected(apply(hugeSizeHeader()), 'LAYER_CORRUPT', /Truncated input/);
  });

  it('a truncated gzip stream is LAYER_CORRUPT', async () => {
    const gz = gzip(tarEntries([{ path: 'f', type: 'file', content: 'x'.repeat(5000) }]));
    await rejected(apply(gz.subarray(0, gz.length - 20), { compression: 'gzip' }), 'LAYER_CORRUPT', /the gzip stream is damaged or truncated/);
  });

  it('a truncated zstd stream is LAYER_CORRUPT', async () => {
    const frame = zstdRawFrame(tarEntries([{ path: 'f', type: 'file', content: 'x'.repeat(5000) }]));
    await rejected(apply(frame.subarray(0, frame.length - 100), { compression: 'zstd' }), 'LAYER_CORRUPT', /the zstd stream is damaged or truncated/);
  });

  it('a layer compressed twice (mislabelled media type) is LAYER_CORRUPT, not silently unpacked', async () => {
    const twice = gzip(gzip(tarEntries([{ path: 'f', type: 'file', content: 'x' }])));
    await rejected(apply(twice, { compression: 'gzip' }), 'LAYER_CORRUPT', /its uncompressed content is itself compressed/);
    const gzipAsPlain = gzip(tarEntries([{ path: 'f', type: 'file', content: 'x' }]));
    const oneByteChunks = applyLayer(box.rootfs, streamOf(gzipAsPlain, 1), { compression: 'none', unprivileged: true, reporter: silentReporter });
    await rejected(oneByteChunks, 'LAYER_CORRUPT', /its uncompressed content is itself compressed/);
    const zstdAsPlain = zstdRawFrame(tarEntries([{ path: 'f', type: 'file', content: 'x' }]));
    await rejected(apply(zstdAsPlain), 'LAYER_CORRUPT', /its uncompressed content is itself compressed/);
  });

  it('a parent that is a regular file is LAYER_CORRUPT', async () => {
    await rejected(apply([{ path: 'f', type: 'file', content: 'x' }, { path: 'f/child', type: 'file', content: 'y' }]), 'LAYER_CORRUPT', /a parent of the entry "f\/child" \("f"\) is not a directory/);
  });
});

describe('NUL bytes and extended headers', () => {
  it('CVE-2026-59875 (node-tar): a NUL byte in a PAX path is LAYER_UNSAFE_PATH', async () => {
    await rejected(
      apply([{ path: 'placeholder', type: 'file', content: 'x', paxHeaders: { path: 'ok\0/../../outside/canary.txt' } }]),
      'LAYER_UNSAFE_PATH',
      /^The entry "ok\\\\0\/\.\.\/\.\.\/outside\/canary\.txt" in layer 2 of test\/bad has a NUL byte or newline in its PAX path\.$/,
    );
  });

  it('a NUL byte in a PAX linkpath is LAYER_UNSAFE_PATH', async () => {
    await rejected(apply([{ path: 'l', type: 'symlink', linkTarget: 'x', paxHeaders: { linkpath: 'a\0b' } }]), 'LAYER_UNSAFE_PATH', /NUL byte or newline in its PAX linkpath/);
  });

  it('a newline in a PAX path (which node-tar would drop) is LAYER_UNSAFE_PATH', async () => {
    await rejected(apply([{ path: 'short', type: 'file', content: 'x', paxHeaders: { path: 'two\nlines' } }]), 'LAYER_UNSAFE_PATH', /NUL byte or newline in its PAX path/);
  });

  it('a NUL byte inside a GNU long name is LAYER_UNSAFE_PATH', async () => {
    await rejected(apply(gnuLongNameWithNul('name\0../../outside', { path: 'x', type: 'file', content: 'x' })), 'LAYER_UNSAFE_PATH', /has a NUL byte inside its extended name/);
  });

  it('a global PAX header that sets linkpath for every entry is LAYER_CORRUPT', async () => {
    const global = tarEntries([{ path: 'g', type: 'file', content: '19 linkpath=/etc/x\n', typeflag: 'g' }]).subarray(0, 1024);
    const rest = tarEntries([{ path: 'l', type: 'symlink', linkTarget: 'here' }]);
    await rejected(apply(Buffer.concat([global, rest])), 'LAYER_CORRUPT', /a global PAX header sets a path or link target/);
  });
});

describe('extended headers node-tar would skip or misread', () => {
  it('a PAX header over 1 MiB (which node-tar skips, reviving the short name) is LAYER_CORRUPT', async () => {
    await rejected(
      apply([{ path: 'short', type: 'file', content: 'x', paxHeaders: { comment: 'c'.repeat(1_100_000), path: 'the/real/name' } }]),
      'LAYER_CORRUPT',
      /: the extended header "PaxHeaders\/short" is larger than 1 MiB\.$/,
    );
  });

  it('the entry type comes from the header flag, not from a PAX "type" record', async () => {
    await apply([{ path: 'plain.txt', type: 'file', content: 'a file', paxHeaders: { type: 'Directory' } }]);
    expect(fs.readFileSync(path.join(box.rootfs, 'plain.txt'), 'utf8')).toBe('a file');
  });

  it('AUFS bookkeeping below .wh..wh.plnk/ is skipped with a warning', async () => {
    const result = await apply([
      { path: '.wh..wh.plnk/', type: 'dir' },
      { path: '.wh..wh.plnk/123.456', type: 'file', content: 'x' },
      { path: 'real.txt', type: 'file', content: 'y' },
    ]);
    expect(fs.readdirSync(box.rootfs)).toEqual(['real.txt']);
    expect(result.warnings).toEqual(['Ignored 2 AUFS metadata entries: ".wh..wh.plnk/", ".wh..wh.plnk/123.456".']);
  });
});

describe('bombs and limits', () => {
  it('a gzip bomb stops at maxBytes with LAYER_TOO_LARGE, long before it is fully expanded', async () => {
    const bomb = gzip(tarEntries([{ path: 'zeros.bin', type: 'file', content: Buffer.alloc(48 * 1024 * 1024) }]));
    expect(bomb.length).toBeLessThan(200_000);
    const started = Date.now();
    await rejected(apply(bomb, { compression: 'gzip', maxBytes: 4 * 1024 * 1024 }), 'LAYER_TOO_LARGE', /^layer 2 of test\/bad is larger than allowed: it expands to more than 4194304 bytes\.$/);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(fs.statSync(path.join(box.rootfs, 'zeros.bin')).size).toBeLessThanOrEqual(4 * 1024 * 1024);
  });

  it('a zstd RLE bomb (4 bytes per 128 KiB) stops at maxBytes with LAYER_TOO_LARGE', async () => {
    const header = tarEntries([{ path: 'z.bin', type: 'file', content: 'x' }]).subarray(0, 512);
    header.write('77777777777\0', 124, 12, 'ascii');
    fixChecksum(header, 0);
    const bomb = zstdRleBomb(header, 100_000); // 12.5 GiB once expanded, 400 kB on the wire
    await rejected(apply(bomb, { compression: 'zstd', maxBytes: 8 * 1024 * 1024 }), 'LAYER_TOO_LARGE', /expands to more than 8388608 bytes/);
  });

  it('more entries than maxEntries is LAYER_TOO_LARGE', async () => {
    const entries: TarEntry[] = Array.from({ length: 20 }, (_, i) => ({ path: `f${i}`, type: 'file', content: '' }));
    await rejected(apply(entries, { maxEntries: 10 }), 'LAYER_TOO_LARGE', /has more than 10 entries/);
  });

  it('containerd CVE-2026-95838: repeated opaque whiteouts take linear time', async () => {
    const lower: TarEntry[] = [];
    for (let d = 0; d < 40; d++) for (let f = 0; f < 25; f++) lower.push({ path: `top/d${d}/f${f}`, type: 'file', content: 'x' });
    await apply(lower);
    const upper: TarEntry[] = [];
    for (let d = 0; d < 40; d++) upper.push({ path: `top/d${d}/keep`, type: 'file', content: 'y' });
    for (let i = 0; i < 3000; i++) upper.push({ path: i % 2 ? 'top/.wh..wh..opq' : `top/d${i % 40}/.wh..wh..opq`, type: 'file' });
    const started = Date.now();
    await apply(upper);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(fs.readdirSync(path.join(box.rootfs, 'top/d7'))).toEqual(['keep']);
  });
});

describe('interruption and disk errors', () => {
  it('an AbortSignal (Ctrl-C) stops the unpack promptly with INTERRUPTED, even while input stalls', async () => {
    const controller = new AbortController();
    const tar = tarEntries([{ path: 'a', type: 'file', content: 'x' }]);
    const stalled = new Readable({ read() {} });
    stalled.push(tar.subarray(0, 1024));
    const pending = applyLayer(box.rootfs, stalled, { compression: 'none', unprivileged: true, reporter: silentReporter, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const error = await rejected(pending, 'INTERRUPTED', /^Unpacking the layer was interrupted\.$/);
    expect(error.exitCode).toBe(1);
  });

  it('a failing input stream is IO (not the store), and an EnvlockError from it passes through unchanged', async () => {
    const tar = tarEntries([{ path: 'a', type: 'file', content: 'x'.repeat(3000) }]);
    const broken = (error: Error) =>
      new Readable({
        read() {
          this.push(tar.subarray(0, 1024));
          this.destroy(error);
        },
      });
    const run = (input: Readable, compression: 'none' | 'gzip') =>
      applyLayer(box.rootfs, input, { compression, unprivileged: true, reporter: silentReporter, layerName: 'layer 2 of test/bad' });
    await rejected(run(broken(new Error('socket hang up')), 'none'), 'IO', /^Could not read layer 2 of test\/bad: socket hang up\.$/);
    const mismatch = new EnvlockError('DIGEST_MISMATCH', 'The blob sha256:abc does not match its digest.');
    expect(await run(broken(mismatch), 'none').catch((e: unknown) => e)).toBe(mismatch);
    const gz = gzip(tar);
    const brokenGzip = new Readable({
      read() {
        this.push(gz.subarray(0, 20));
        this.destroy(new Error('connection reset'));
      },
    });
    await rejected(run(brokenGzip, 'gzip'), 'IO', /connection reset/);
  });

  it('ENOSPC becomes STORE_FULL naming the rootfs, the entry and the layer', () => {
    const enospc = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    const error = fsFailure({ layer: 'layer 3 of x' }, 'usr/lib/big.so', '/store/tmp/rootfs', enospc);
    expect(error.code).toBe('STORE_FULL');
    expect(error.exitCode).toBe(1);
    expect(error.message).toBe('The filesystem holding /store/tmp/rootfs is full (or over quota) while unpacking "usr/lib/big.so" from layer 3 of x.');
    expect(error.hint).toMatch(/^Free some space/);
  });

  it.each([
    ['EACCES', 'STORE_IO', /^Could not unpack "etc\/x" from layer 3 of x into \/store\/r: permission denied\.$/],
    ['ENAMETOOLONG', 'LAYER_CORRUPT', /^layer 3 of x is not a valid layer archive: the entry "etc\/x" has a name longer than this filesystem allows\.$/],
    ['ELOOP', 'LAYER_UNSAFE_PATH', /^The entry "etc\/x" in layer 3 of x is reached through too many symbolic links\.$/],
    ['ENOTDIR', 'LAYER_CORRUPT', /a parent of the entry "etc\/x" is not a directory\.$/],
    ['ENOENT', 'LAYER_CORRUPT', /refers to a path that does not exist at that point of the layer\.$/],
  ])('maps %s on the rootfs to %s', (errno, code, message) => {
    const error = fsFailure({ layer: 'layer 3 of x' }, 'etc/x', '/store/r', Object.assign(new Error('permission denied'), { code: errno }));
    expect(error.code).toBe(code);
    expect(error.exitCode).toBe(1);
    expect(error.message).toMatch(message);
    expect(error.hint).toBeTruthy();
  });
});
