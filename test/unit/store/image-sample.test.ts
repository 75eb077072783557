// The file sample run checks at every start (core/store/image-sample.ts): which files are
// sampled, and what counts as a change.

import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pickSample, sampleChange, SAMPLE_FILES } from '../../../core/store/image-sample.js';
import type { ImageNode } from '../../../core/unpack/image-sink.js';
import { removeDir, tempDir } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => removeDir(dir));

const dirNode = (mode: number, children: Record<string, ImageNode>): ImageNode => ({ kind: 'dir', mode, mtime: 0, size: 0, links: 1, children: new Map(Object.entries(children)) });
const fileNode = (size: number): ImageNode => ({ kind: 'file', mode: 0o444, mtime: 0, size, links: 1 });

function write(file: string, size: number): void {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  fs.writeFileSync(path.join(dir, file), Buffer.alloc(size, 1));
}

describe('image sample', () => {
  it('samples the largest files under directories everyone may search, largest first', () => {
    const files: Record<string, ImageNode> = {};
    for (let i = 1; i <= SAMPLE_FILES + 2; i++) {
      files[`f${i}`] = fileNode(i * 10);
      write(`bin/f${i}`, i * 10);
    }
    write('root/huge', 10_000);
    const root = dirNode(0o555, { bin: dirNode(0o555, files), root: dirNode(0o500, { huge: fileNode(10_000) }) });
    const sample = pickSample(root, dir);
    expect(sample.map((s) => s.path)).toEqual(Array.from({ length: SAMPLE_FILES }, (_, i) => `bin/f${SAMPLE_FILES + 2 - i}`));
    expect(sample[0]!.size).toBe((SAMPLE_FILES + 2) * 10);
    expect(sampleChange(dir, sample)).toBeUndefined();
  });

  it('names a file whose size or mtime changed, or that is gone; skips one this user cannot reach', () => {
    write('bin/a', 100);
    const root = dirNode(0o555, { bin: dirNode(0o555, { a: fileNode(100) }) });
    const sample = pickSample(root, dir);
    fs.appendFileSync(path.join(dir, 'bin/a'), 'x');
    expect(sampleChange(dir, sample)).toBe('/bin/a is 101 bytes, but was 100 when pulled');
    fs.truncateSync(path.join(dir, 'bin/a'), 100);
    fs.utimesSync(path.join(dir, 'bin/a'), 1, 1);
    expect(sampleChange(dir, sample)).toBe('/bin/a was modified at 1970-01-01T00:00:01.000Z, after it was pulled');
    fs.rmSync(path.join(dir, 'bin/a'));
    expect(sampleChange(dir, sample)).toBe('/bin/a is missing');
    const denied = () => {
      throw Object.assign(new Error('denied'), { code: 'EACCES' });
    };
    expect(sampleChange(dir, sample, denied)).toBeUndefined();
    expect(sampleChange(dir, [{ path: '../etc/passwd', size: 1, mtime: 1 }])).toBe('its meta record has a malformed file sample');
    expect(sampleChange(dir, undefined)).toBeUndefined();
  });
});
