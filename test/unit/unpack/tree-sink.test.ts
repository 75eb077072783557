// The tree destination's own line of defence: a parent that became a symlink behind the
// applier's back (a bug, or a racing writer) is refused before anything is created through it.

import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { newDir } from '../../../core/unpack/image-tree.js';
import { TreeSink } from '../../../core/unpack/tree-sink.js';
import { CANARY_TEXT, makeSandbox, type Sandbox } from '../../helpers/hostile-layers.js';

let box: Sandbox;
beforeEach(() => {
  box = makeSandbox();
});
afterEach(() => box.cleanup());

it('refuses to create an entry whose parent is now a symlink (stale model or racing writer), with ELOOP', () => {
  const sink = new TreeSink(box.rootfs);
  sink.directory('d');
  fs.rmdirSync(path.join(box.rootfs, 'd'));
  fs.symlinkSync(box.outside, path.join(box.rootfs, 'd'));
  const node = { kind: 'file' as const, mode: 0o444, mtime: 0, size: 0, links: 1 };
  expect(() => sink.file('d/canary.txt', node)).toThrow(expect.objectContaining({ code: 'ELOOP' }));
  expect(() => sink.directory('d/sub')).toThrow(expect.objectContaining({ code: 'ELOOP' }));
  expect(fs.readFileSync(box.canary, 'utf8')).toBe(CANARY_TEXT);
  expect(fs.readdirSync(box.outside).sort()).toEqual(['canary.txt', 'sub']);
});

it('checks a parent again after the sink removed a directory, so a directory replaced by a symlink is never written through', () => {
  const sink = new TreeSink(box.rootfs);
  const dir = newDir<undefined>(0o555, 0);
  sink.directory('d');
  const node = { kind: 'file' as const, mode: 0o444, mtime: 0, size: 0, links: 1 };
  sink.file('d/first', node).end(); // "d" is now proven and remembered
  sink.remove('d', dir);
  // A model bug would now hand out "d/…" although "d" became a symlink to the host.
  sink.symlink('d', { kind: 'symlink', mode: 0o777, mtime: 0, size: 0, links: 1, target: box.outside });
  expect(() => sink.file('d/canary.txt', node)).toThrow(expect.objectContaining({ code: 'ELOOP' }));
  expect(fs.readFileSync(box.canary, 'utf8')).toBe(CANARY_TEXT);
});

it('never writes through a symlink in the final position (O_EXCL|O_NOFOLLOW), even if told to', () => {
  const sink = new TreeSink(box.rootfs);
  fs.symlinkSync(box.canary, path.join(box.rootfs, 'hosts'));
  const node = { kind: 'file' as const, mode: 0o444, mtime: 0, size: 0, links: 1 };
  expect(() => sink.file('hosts', node)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
  expect(fs.readFileSync(box.canary, 'utf8')).toBe(CANARY_TEXT);
});

it('gives directories their stored modes and times only in finish(), children first, the root last', async () => {
  const sink = new TreeSink(box.rootfs);
  const root = newDir<undefined>(0o555, 0);
  const ro = newDir<undefined>(0o500, 1_600_000_000);
  root.children?.set('ro', ro);
  sink.directory('ro');
  const file = { kind: 'file' as const, mode: 0o444, mtime: 1_500_000_000, size: 1, links: 1 };
  ro.children?.set('f', file);
  const content = sink.file('ro/f', file);
  content.write(Buffer.from('x'));
  content.end();
  expect(fs.statSync(path.join(box.rootfs, 'ro')).mode & 0o7777).toBe(0o700);
  await sink.finish(root);
  expect(fs.statSync(path.join(box.rootfs, 'ro')).mode & 0o7777).toBe(0o500);
  expect(fs.statSync(path.join(box.rootfs, 'ro')).mtimeMs).toBe(1_600_000_000_000);
  expect(fs.statSync(box.rootfs).mode & 0o7777).toBe(0o555);
  expect(fs.statSync(path.join(box.rootfs, 'ro/f')).mtimeMs).toBe(1_500_000_000_000);
});
