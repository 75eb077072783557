// Sparse files (issue 13.5): layers written by GNU tar --sparse in the old GNU format and in PAX
// formats 0.0, 0.1 and 1.0 unpack to the same bytes as the source, with holes where the
// destination keeps them; a sparse map that does not fit its data is refused, never dropped.

import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { treeDigest } from '../../../core/unpack/tree-digest.js';
import { fixChecksum, makeSandbox, type Sandbox } from '../../helpers/hostile-layers.js';
import { destination } from '../../helpers/unpack-destinations.js';
import { MATRIX, refused, succeeded, unpack } from '../../helpers/unpack-matrix.js';

const MiB = 1024 * 1024;
const FORMATS = [
  ['old GNU (type S)', ['--format=gnu']],
  ['PAX 0.0', ['--format=pax', '--sparse-version=0.0']],
  ['PAX 0.1', ['--format=pax', '--sparse-version=0.1']],
  ['PAX 1.0', ['--format=pax', '--sparse-version=1.0']],
] as const;

/** A 24 MiB file that is mostly holes: data at 1 MiB, at 10 MiB and in its last bytes. */
function sparseSource(dir: string): { file: string; sha256: string } {
  const file = path.join(dir, 'src', 'var', 'log', 'lastlog');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, Buffer.from('first data run'), 0, 14, MiB);
  fs.writeSync(fd, Buffer.alloc(70_000, 0x5a), 0, 70_000, 10 * MiB);
  fs.writeSync(fd, Buffer.from('the end'), 0, 7, 24 * MiB - 7);
  fs.closeSync(fd);
  return { file, sha256: createHash('sha256').update(fs.readFileSync(file)).digest('hex') };
}

describe.each(MATRIX)('sparse files ($destination, as $caller)', (way) => {
  let box: Sandbox;
  beforeEach(() => {
    box = makeSandbox();
  });
  afterEach(() => box.cleanup());
  const inRoot = (rel: string) => path.join(destination(way.destination).view(box.rootfs), rel);

  it.each(FORMATS)('materialises a GNU tar --sparse layer in the %s format, holes included', async (_name, flags) => {
    const work = fs.mkdtempSync(path.join(box.parent, 'work-'));
    const source = sparseSource(work);
    const made = spawnSync('tar', ['--sparse', ...flags, '-C', path.join(work, 'src'), '-cf', '-', 'var'], { maxBuffer: 64 * MiB });
    expect(made.status, made.stderr.toString()).toBe(0);
    expect(made.stdout.length).toBeLessThan(MiB); // really stored sparse
    fs.rmSync(work, { recursive: true });
    const outcome = succeeded(await unpack(box, way, [{ data: made.stdout, chunkSize: 4096 }]));
    const file = inRoot('var/log/lastlog');
    const stat = fs.statSync(file);
    expect(stat.size).toBe(24 * MiB);
    expect(createHash('sha256').update(fs.readFileSync(file)).digest('hex')).toBe(source.sha256);
    expect(stat.mode & 0o7777).toBe(0o444);
    if (way.destination === 'tree') {
      expect(stat.blocks * 512).toBeLessThan(2 * MiB); // the holes stayed holes
      expect(await treeDigest(box.rootfs)).toBe(outcome.treeDigest);
    }
  });

  it('refuses a sparse map that names more data than the entry stores (LAYER_CORRUPT)', async () => {
    const work = fs.mkdtempSync(path.join(box.parent, 'work-'));
    sparseSource(work);
    const made = spawnSync('tar', ['--sparse', '--format=gnu', '-C', path.join(work, 'src'), '-cf', '-', 'var/log/lastlog'], { maxBuffer: 64 * MiB });
    const tar = Buffer.from(made.stdout);
    // The first map entry (offset at 386, length at 398) now claims 20 bytes more than stored.
    const length = parseInt(tar.toString('latin1', 398, 409), 8);
    tar.write(`${(length + 20).toString(8).padStart(11, '0')}\0`, 398, 12, 'latin1');
    fixChecksum(tar, 0);
    refused(await unpack(box, way, [tar]), 'LAYER_CORRUPT', /the sparse file "var\/log\/lastlog" stores \d+ data bytes but its map names \d+/);
  });
});
