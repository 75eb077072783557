// Malformed and oversized layers: truncation, bad headers, bombs, NUL bytes in names, global PAX
// overrides, double compression: each fails with its own code, confined to the rootfs, through
// every destination, as root and as nobody.

import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gzip, tarEntries, type TarEntry } from '../../helpers/tar-writer.js';
import {
  badChecksum,
  CANARY_TEXT,
  fixChecksum,
  gnuLongNameWithNul,
  hugeSizeHeader,
  makeSandbox,
  snapshotOutside,
  truncatedInsideData,
  truncatedInsideHeader,
  zstdRawFrame,
  zstdRleBomb,
  type Sandbox,
} from '../../helpers/hostile-layers.js';
import { destination } from '../../helpers/unpack-destinations.js';
import { MATRIX, refused, succeeded, unpack } from '../../helpers/unpack-matrix.js';
import type { LayerRequest, UnpackOutcome } from '../../helpers/unpack-runner.js';

let zerosMember: Buffer | undefined;
/** gzip -9 of 64 MiB of zeros (~65 KB, about 1028:1), built once for every row of the matrix. */
function zeros64MiB(): Buffer {
  zerosMember ??= gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
  return zerosMember;
}

describe.each(MATRIX)('malformed layers ($destination, as $caller)', (way) => {
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

  type Options = Partial<Omit<LayerRequest, 'file'>>;
  /** One layer (entries or raw bytes) read in 1000-byte chunks, named "layer 2 of test/bad". */
  const run = (data: TarEntry[] | Buffer, options: Options = {}) =>
    unpack(box, way, [{ data: Buffer.isBuffer(data) ? data : tarEntries(data), chunkSize: 1000, layerName: 'layer 2 of test/bad', ...options }]);
  const rejected = async (outcome: Promise<UnpackOutcome>, code: string, message: RegExp) => refused(await outcome, code, message);
  const inRoot = (rel: string) => path.join(destination(way.destination).view(box.rootfs), rel);

  describe('truncated and malformed archives', () => {
    it('CVE-2021-20291 (containers/storage): an archive cut inside file data is LAYER_CORRUPT, not a hang', async () => {
      await rejected(run(truncatedInsideData()), 'LAYER_CORRUPT', /^layer 2 of test\/bad is not a valid layer archive: it ends inside the data of "big\.bin" \(truncated\)\.$/);
    });

    it('an archive cut inside a header is LAYER_CORRUPT', async () => {
      await rejected(run(truncatedInsideHeader()), 'LAYER_CORRUPT', /ends in the middle of a 512-byte block/);
    });

    it('a header with a bad checksum is LAYER_CORRUPT', async () => {
      await rejected(run(badChecksum()), 'LAYER_CORRUPT', /a header block has a wrong checksum/);
    });

    it('a header claiming 8 GiB of data that is not there is LAYER_CORRUPT', async () => {
      await rejected(run(hugeSizeHeader()), 'LAYER_CORRUPT', /it ends inside the data of "huge\.bin" \(truncated\)/);
    });

    it('a zero block followed by another header is LAYER_CORRUPT, as Go reads it', async () => {
      const tar = tarEntries([{ path: 'a', type: 'file', content: 'a' }]);
      const hidden = tarEntries([{ path: 'after-zero-block', type: 'file', content: 'b' }]);
      await rejected(run(Buffer.concat([tar.subarray(0, 1024 + 512), hidden])), 'LAYER_CORRUPT', /a zero block is followed by another header/);
    });

    it('a truncated gzip stream is LAYER_CORRUPT', async () => {
      const gz = gzip(tarEntries([{ path: 'f', type: 'file', content: 'x'.repeat(5000) }]));
      await rejected(run(gz.subarray(0, gz.length - 20), { compression: 'gzip' }), 'LAYER_CORRUPT', /the gzip stream is truncated/);
    });

    it('bytes after the end of a gzip stream that are not another member are LAYER_CORRUPT (Go does the same)', async () => {
      const gz = gzip(tarEntries([{ path: 'f', type: 'file', content: 'x' }]));
      await rejected(run(Buffer.concat([gz, Buffer.from('garbage')]), { compression: 'gzip' }), 'LAYER_CORRUPT', /there is data after the end of the gzip stream/);
    });

    it('a truncated zstd stream is LAYER_CORRUPT', async () => {
      const frame = zstdRawFrame(tarEntries([{ path: 'f', type: 'file', content: 'x'.repeat(5000) }]));
      await rejected(run(frame.subarray(0, frame.length - 100), { compression: 'zstd' }), 'LAYER_CORRUPT', /the zstd stream is truncated/);
    });

    it('a layer compressed twice (mislabelled media type) is LAYER_CORRUPT, not silently unpacked', async () => {
      const twice = gzip(gzip(tarEntries([{ path: 'f', type: 'file', content: 'x' }])));
      await rejected(run(twice, { compression: 'gzip' }), 'LAYER_CORRUPT', /its uncompressed content is itself compressed/);
      const gzipAsPlain = gzip(tarEntries([{ path: 'f', type: 'file', content: 'x' }]));
      await rejected(run(gzipAsPlain, { chunkSize: 1 }), 'LAYER_CORRUPT', /its uncompressed content is itself compressed/);
      const zstdAsPlain = zstdRawFrame(tarEntries([{ path: 'f', type: 'file', content: 'x' }]));
      await rejected(run(zstdAsPlain), 'LAYER_CORRUPT', /its uncompressed content is itself compressed/);
    });

    it('a parent that is a regular file is LAYER_CORRUPT', async () => {
      await rejected(run([{ path: 'f', type: 'file', content: 'x' }, { path: 'f/child', type: 'file', content: 'y' }]), 'LAYER_CORRUPT', /a parent of the entry "f\/child" \("f"\) is not a directory/);
    });
  });

  describe('NUL bytes and extended headers', () => {
    it('CVE-2026-59875 (node-tar): a NUL byte in a PAX path is LAYER_CORRUPT, as Go refuses the header', async () => {
      await rejected(
        run([{ path: 'placeholder', type: 'file', content: 'x', paxHeaders: { path: 'ok\0/../../outside/canary.txt' } }]),
        'LAYER_CORRUPT',
        /^layer 2 of test\/bad is not a valid layer archive: the PAX record "path" holds a NUL byte\.$/,
      );
    });

    it('a NUL byte in a PAX linkpath is LAYER_CORRUPT', async () => {
      await rejected(run([{ path: 'l', type: 'symlink', linkTarget: 'x', paxHeaders: { linkpath: 'a\0b' } }]), 'LAYER_CORRUPT', /the PAX record "linkpath" holds a NUL byte/);
    });

    it('a newline in a PAX path is part of the name, as Go and GNU tar read it', async () => {
      succeeded(await run([{ path: 'short', type: 'file', content: 'x', paxHeaders: { path: 'two\nlines' } }]));
      expect(fs.readFileSync(inRoot('two\nlines'), 'utf8')).toBe('x');
      expect(fs.existsSync(inRoot('short'))).toBe(false);
    });

    it('a NUL byte inside a GNU long name (tools would cut the name differently) is LAYER_CORRUPT', async () => {
      await rejected(run(gnuLongNameWithNul('name\0../../outside', { path: 'x', type: 'file', content: 'x' })), 'LAYER_CORRUPT', /the GNU long name "name" has a NUL byte inside it/);
    });

    it('a global PAX header that sets linkpath for every entry is LAYER_CORRUPT', async () => {
      const global = tarEntries([{ path: 'g', type: 'file', content: '19 linkpath=/etc/x\n', typeflag: 'g' }]).subarray(0, 1024);
      const rest = tarEntries([{ path: 'l', type: 'symlink', linkTarget: 'here' }]);
      await rejected(run(Buffer.concat([global, rest])), 'LAYER_CORRUPT', /a global PAX header sets linkpath for every later entry/);
    });
  });

  describe('extended headers other readers would skip or misread', () => {
    it('a PAX header over 1 MiB (Go refuses it too) is LAYER_CORRUPT', async () => {
      await rejected(
        run([{ path: 'short', type: 'file', content: 'x', paxHeaders: { comment: 'c'.repeat(1_100_000), path: 'the/real/name' } }]),
        'LAYER_CORRUPT',
        /: the extended header "PaxHeaders\/short" is larger than 1 MiB\.$/,
      );
    });

    it('the entry type comes from the header flag, not from a PAX "type" record', async () => {
      succeeded(await run([{ path: 'plain.txt', type: 'file', content: 'a file', paxHeaders: { type: 'Directory' } }]));
      expect(fs.readFileSync(inRoot('plain.txt'), 'utf8')).toBe('a file');
    });

    it('AUFS bookkeeping below .wh..wh.plnk/ is skipped with a warning', async () => {
      const outcome = succeeded(
        await run([
          { path: '.wh..wh.plnk/', type: 'dir' },
          { path: '.wh..wh.plnk/123.456', type: 'file', content: 'x' },
          { path: 'real.txt', type: 'file', content: 'y' },
        ]),
      );
      expect(fs.readdirSync(inRoot(''))).toEqual(['real.txt']);
      expect(outcome.warn).toEqual(['Ignored 2 AUFS metadata entries: ".wh..wh.plnk/", ".wh..wh.plnk/123.456".']);
    });
  });

  describe('bombs and limits', () => {
    it('a gzip bomb stops at maxBytes with LAYER_TOO_LARGE, long before it is fully expanded', async () => {
      const bomb = gzip(tarEntries([{ path: 'zeros.bin', type: 'file', content: Buffer.alloc(48 * 1024 * 1024) }]));
      expect(bomb.length).toBeLessThan(200_000);
      const outcome = await run(bomb, { compression: 'gzip', maxBytes: 4 * 1024 * 1024 });
      refused(outcome, 'LAYER_TOO_LARGE', /^layer 2 of test\/bad is larger than allowed: it expands to more than 4194304 bytes\.$/);
      expect(outcome.ms).toBeLessThan(5000);
      // A tree keeps what was written until the store discards it; a failed squashfs image is gone whole.
      if (way.destination === 'tree') expect(fs.statSync(inRoot('zeros.bin')).size).toBeLessThanOrEqual(4 * 1024 * 1024);
      else expect(fs.existsSync(inRoot('zeros.bin'))).toBe(false);
    });

    it('a zstd RLE bomb (4 bytes per 128 KiB) stops at maxBytes with LAYER_TOO_LARGE', async () => {
      const header = tarEntries([{ path: 'z.bin', type: 'file', content: 'x' }]).subarray(0, 512);
      header.write('77777777777\0', 124, 12, 'ascii');
      fixChecksum(header, 0);
      const bomb = zstdRleBomb(header, 100_000); // 12.5 GiB once expanded, 400 kB on the wire
      await rejected(run(bomb, { compression: 'zstd', maxBytes: 8 * 1024 * 1024 }), 'LAYER_TOO_LARGE', /expands to more than 8388608 bytes/);
    });

    it('issue 13.5: a gzip bomb is stopped early by the expansion-ratio limit, which names itself and how to raise it', async () => {
      // A 4 GiB file of zeros in 130 KB: multi-member gzip, each member 64 MiB of zeros.
      const header = tarEntries([{ path: 'bomb.bin', type: 'file', content: 'x' }]).subarray(0, 512);
      header.write('40000000000\0', 124, 12, 'latin1');
      fixChecksum(header, 0);
      const bomb = Buffer.concat([gzipSync(header), zeros64MiB(), zeros64MiB()]);
      const outcome = await run(bomb, { compression: 'gzip', chunkSize: 16384 });
      const error = refused(outcome, 'LAYER_TOO_LARGE', /^layer 2 of test\/bad expands to more than 1000 times its compressed size \(\d+ bytes from \d+\), the limit for a layer \(ENVLOCK_MAX_EXPANSION=1000\)\.$/);
      expect(error.hint).toMatch(/ENVLOCK_MAX_EXPANSION=10000/);
      // Stopped just past the 64 MiB floor, not after 4 GiB.
      const expanded = way.destination === 'tree' ? fs.statSync(inRoot('bomb.bin')).size : Number(/\((\d+) bytes from/.exec(error.message)?.[1]);
      expect(expanded).toBeLessThan(70 * 1024 * 1024);
      // Raised, the limit lets the same stream through to its real fault: it is truncated.
      if (way.caller !== 'root') return; // once is enough: 128 MiB more to write
      box.cleanup();
      box = makeSandbox();
      before = snapshotOutside(box);
      const raised = await run(bomb, { compression: 'gzip', chunkSize: 16384, limits: { maxExpansion: 100_000, zstdWindowLogMax: 27 } });
      refused(raised, 'LAYER_CORRUPT', /truncated/);
    });

    it('more entries than maxEntries is LAYER_TOO_LARGE', async () => {
      const entries: TarEntry[] = Array.from({ length: 20 }, (_, i) => ({ path: `f${i}`, type: 'file', content: '' }));
      await rejected(run(entries, { maxEntries: 10 }), 'LAYER_TOO_LARGE', /has more than 10 entries/);
    });

    it('containerd CVE-2026-95838: repeated opaque whiteouts take linear time', async () => {
      const lower: TarEntry[] = [];
      for (let d = 0; d < 40; d++) for (let f = 0; f < 25; f++) lower.push({ path: `top/d${d}/f${f}`, type: 'file', content: 'x' });
      const upper: TarEntry[] = [];
      for (let d = 0; d < 40; d++) upper.push({ path: `top/d${d}/keep`, type: 'file', content: 'y' });
      for (let i = 0; i < 3000; i++) upper.push({ path: i % 2 ? 'top/.wh..wh..opq' : `top/d${i % 40}/.wh..wh..opq`, type: 'file' });
      const outcome = succeeded(await unpack(box, way, [lower, upper]));
      expect(outcome.ms).toBeLessThan(8000); // generous: the machine is shared; a re-scan per marker is far slower
      expect(fs.readdirSync(inRoot('top/d7'))).toEqual(['keep']);
    });
  });
});
