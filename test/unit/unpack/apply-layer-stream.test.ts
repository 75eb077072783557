// The layer stream itself: interruption while input stalls, a failing input, the zstd window
// limit refusing a wide frame at once while the event loop keeps running, and how failed
// system calls on the destination become errors a user can act on.

import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentReporter } from '../../../core/context.js';
import { EnvlockError } from '../../../core/errors.js';
import { applyLayer, type ApplyLayerOptions } from '../../../core/unpack/apply-layer.js';
import { ImageApplier } from '../../../core/unpack/image-applier.js';
import { decodeLimits } from '../../../core/unpack/limits.js';
import { TreeSink } from '../../../core/unpack/tree-sink.js';
import { fsFailure } from '../../../core/unpack/unpack-errors.js';
import { makeSandbox, streamOf, zstdWideWindowFrame, type Sandbox } from '../../helpers/hostile-layers.js';
import { gzip, tarEntries } from '../../helpers/tar-writer.js';

let box: Sandbox;
beforeEach(() => {
  box = makeSandbox();
});
afterEach(() => box.cleanup());

/** Applies one layer into a fresh directory of the sandbox. */
function apply(input: Readable, options: Partial<ApplyLayerOptions> = {}) {
  const applier = new ImageApplier(new TreeSink(fs.mkdtempSync(path.join(box.parent, 'rootfs-'))), { layer: 'the image' });
  return applyLayer(applier, input, { compression: 'none', reporter: silentReporter, layerName: 'layer 2 of test/bad', ...options });
}

async function rejected(promise: Promise<unknown>, code: string, message: RegExp): Promise<EnvlockError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EnvlockError);
  expect((error as EnvlockError).code).toBe(code);
  expect((error as EnvlockError).exitCode).toBe(1);
  expect((error as EnvlockError).message).toMatch(message);
  expect((error as EnvlockError).hint).toBeTruthy();
  return error as EnvlockError;
}

/** Runs work while a 5 ms interval counts its ticks and the longest gap between two of them. */
async function whileTicking<T>(work: () => Promise<T>): Promise<{ value: T; ticks: number; longestGap: number }> {
  let ticks = 0;
  let last = Date.now();
  let longestGap = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    longestGap = Math.max(longestGap, now - last);
    last = now;
    ticks += 1;
  }, 5);
  try {
    const value = await work();
    longestGap = Math.max(longestGap, Date.now() - last);
    return { value, ticks, longestGap };
  } finally {
    clearInterval(timer);
  }
}

describe('zstd window limit (issue 12.3)', () => {
  // ~20,000 one-byte raw blocks of a real tar, in one frame that declares a 1 GiB window: 80 KB.
  const tar = tarEntries([{ path: 'payload.txt', type: 'file', content: 'w'.repeat(18_000) }]);
  const wide = zstdWideWindowFrame(tar, 30);

  it('refuses an 80 KB frame declaring a 1 GiB window at once, naming the limit and how to raise it', async () => {
    expect(wide.length).toBeLessThan(81_000);
    const started = Date.now();
    const error = await rejected(
      apply(streamOf(wide, 8192), { compression: 'zstd' }),
      'LAYER_TOO_LARGE',
      /^layer 2 of test\/bad is a zstd stream whose frame needs a decoding window larger than the 128 MiB limit \(ENVLOCK_ZSTD_WINDOW_LOG_MAX=27\)\.$/,
    );
    expect(error.hint).toMatch(/ENVLOCK_ZSTD_WINDOW_LOG_MAX=30/);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('decodes the same frame off the event loop once the limit is raised: a 5 ms timer keeps ticking', async () => {
    const limits = decodeLimits({ ENVLOCK_ZSTD_WINDOW_LOG_MAX: '30' });
    const { value, ticks, longestGap } = await whileTicking(() => apply(streamOf(wide, 64), { compression: 'zstd', limits }));
    expect(value.bytes).toBe(tar.length);
    expect(tar.length).toBeGreaterThan(19_900);
    expect(ticks).toBeGreaterThan(0);
    expect(longestGap).toBeLessThan(1000); // a synchronous decoder blocked it for 29 s
  });

  it('reads the limits from the environment, and refuses values it cannot use', () => {
    expect(decodeLimits({})).toEqual({ maxExpansion: 1000, zstdWindowLogMax: 27 });
    expect(decodeLimits({ ENVLOCK_MAX_EXPANSION: '5000', ENVLOCK_ZSTD_WINDOW_LOG_MAX: '31' })).toEqual({ maxExpansion: 5000, zstdWindowLogMax: 31 });
    for (const [name, value] of [['ENVLOCK_MAX_EXPANSION', 'lots'], ['ENVLOCK_MAX_EXPANSION', '2'], ['ENVLOCK_ZSTD_WINDOW_LOG_MAX', '40']] as const) {
      expect(() => decodeLimits({ [name]: value })).toThrow(expect.objectContaining({ code: 'USAGE', exitCode: 2, message: expect.stringContaining(`${name} must be a whole number`) }));
    }
  });
});

describe('interruption and input errors', () => {
  it('an AbortSignal (Ctrl-C) stops the unpack promptly with INTERRUPTED, even while input stalls', async () => {
    for (const compression of ['none', 'gzip'] as const) {
      const controller = new AbortController();
      const tar = tarEntries([{ path: 'a', type: 'file', content: 'x'.repeat(5000) }]);
      const stalled = new Readable({ read() {} });
      stalled.push((compression === 'gzip' ? gzip(tar) : tar).subarray(0, 100));
      const pending = apply(stalled, { compression, signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      await rejected(pending, 'INTERRUPTED', /^Unpacking layer 2 of test\/bad was interrupted\.$/);
    }
  });

  it('a failing input stream is IO (not the store), and an EnvlockError from it passes through unchanged', async () => {
    const tar = tarEntries([{ path: 'a', type: 'file', content: 'x'.repeat(3000) }]);
    const broken = (data: Buffer, error: Error) =>
      new Readable({
        read() {
          this.push(data);
          this.destroy(error);
        },
      });
    await rejected(apply(broken(tar.subarray(0, 1024), new Error('socket hang up'))), 'IO', /^Could not read layer 2 of test\/bad: socket hang up\.$/);
    const mismatch = new EnvlockError('DIGEST_MISMATCH', 'The blob sha256:abc does not match its digest.');
    expect(await apply(broken(tar.subarray(0, 1024), mismatch)).catch((e: unknown) => e)).toBe(mismatch);
    await rejected(apply(broken(gzip(tar).subarray(0, 20), new Error('connection reset')), { compression: 'gzip' }), 'IO', /connection reset/);
  });
});

describe('failed system calls on the destination', () => {
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
