// A benign archive written by GNU tar unpacks to the same tree GNU tar extracts (names, types,
// contents, symlink targets, hard links, mtimes), modes differing only by envlock's normalisation.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { storedDirMode, storedFileMode } from '../../../core/unpack/modes.js';
import { gzip } from '../../helpers/tar-writer.js';
import { makeSandbox, type Sandbox } from '../../helpers/hostile-layers.js';
import { destination } from '../../helpers/unpack-destinations.js';
import { AS_ROOT, succeeded, unpack } from '../../helpers/unpack-matrix.js';

let box: Sandbox;
beforeEach(() => {
  box = makeSandbox();
});
afterEach(() => box.cleanup());

function buildSource(src: string): void {
  const put = (rel: string, content: string | Buffer, mode = 0o644) => {
    fs.mkdirSync(path.dirname(path.join(src, rel)), { recursive: true });
    fs.writeFileSync(path.join(src, rel), content);
    fs.chmodSync(path.join(src, rel), mode);
  };
  put('etc/os-release', 'ID=interop\n');
  put('etc/shadow', 'root:*:1::::::\n', 0o640);
  put('usr/bin/tool', '#!/bin/sh\necho hi\n', 0o755);
  put('usr/lib/x86_64-linux-gnu/libz.so.1.3', Buffer.alloc(70_000, 3), 0o644);
  put(`usr/share/${'long-directory-name-'.repeat(6)}/${'f'.repeat(120)}`, 'long names need pax\n');
  put('usr/share/unicode/caf\u00e9 na\u00efve \u65e5\u672c', 'utf-8 name\n');
  put('srv/empty', '');
  fs.symlinkSync('libz.so.1.3', path.join(src, 'usr/lib/x86_64-linux-gnu/libz.so.1'));
  fs.symlinkSync('/usr/share/zoneinfo/UTC', path.join(src, 'etc/localtime'));
  fs.symlinkSync('../../../../../../bin/sh', path.join(src, 'usr/lib/x86_64-linux-gnu/deep'));
  fs.symlinkSync('usr/lib', path.join(src, 'lib'));
  fs.linkSync(path.join(src, 'usr/bin/tool'), path.join(src, 'usr/bin/tool-alias'));
  fs.mkdirSync(path.join(src, 'var/cache/empty'), { recursive: true });
  fs.chmodSync(path.join(src, 'var/cache'), 0o700);
  for (const [i, when] of [1_600_000_000, 1_650_000_000].entries()) {
    fs.utimesSync(path.join(src, i === 0 ? 'etc/os-release' : 'usr/bin/tool'), when, when);
  }
}

function describeTree(root: string, normalise: boolean): string[] {
  const lines: string[] = [];
  const walk = (dir: string): void => {
    for (const name of fs.readdirSync(dir)) {
      const full = path.join(dir, name);
      const rel = path.relative(root, full);
      const st = fs.lstatSync(full);
      const perm = st.mode & 0o7777;
      if (st.isDirectory()) {
        lines.push(`${rel}/ ${(normalise ? storedDirMode(perm) : perm).toString(8)}`);
        walk(full);
      } else if (st.isSymbolicLink()) {
        lines.push(`${rel} -> ${fs.readlinkSync(full)}`);
      } else {
        const content = fs.readFileSync(full).toString('base64').slice(0, 40);
        lines.push(`${rel} ${(normalise ? storedFileMode(perm) : perm).toString(8)} n${st.nlink} t${Math.floor(st.mtimeMs / 1000)} ${st.size} ${content}`);
      }
    }
  };
  walk(root);
  return lines.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

it.each(AS_ROOT)('matches GNU tar extracting the same pax archive ($destination)', async (way) => {
  const src = path.join(box.parent, 'src');
  const gnu = path.join(box.parent, 'gnu');
  fs.mkdirSync(src);
  fs.mkdirSync(gnu);
  buildSource(src);
  const made = spawnSync('tar', ['--format=pax', '--sort=name', '-C', src, '-cf', '-', '.'], { maxBuffer: 1 << 26 });
  expect(made.status).toBe(0);
  const tar = made.stdout;
  expect(spawnSync('tar', ['-C', gnu, '-xf', '-'], { input: tar }).status).toBe(0);
  const outcome = succeeded(await unpack(box, way, [{ data: gzip(tar), chunkSize: 8192, compression: 'gzip' }]));
  expect(outcome.warn).toEqual([]);
  const ours = describeTree(destination(way.destination).view(box.rootfs), false);
  expect(ours).toEqual(describeTree(gnu, true));
  expect(ours).toContain('lib -> usr/lib');
  expect(ours).toContain('etc/localtime -> /usr/share/zoneinfo/UTC');
  expect(ours.find((line) => line.startsWith('usr/bin/tool '))).toMatch(/ 555 n2 t1650000000 /);
});
