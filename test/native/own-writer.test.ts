// The launcher enters what envlock's own squashfs writer (SquashfsSink, libsquashfs) makes, as
// root and as nobody: every inode owned by 0, sealed modes, a hard link, a symlink, a file
// spanning several blocks with a hole, read back exactly through the FUSE mount.

import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqfsWriterClass } from '../../core/squashfs/native-writer.js';
import { SquashfsSink } from '../../core/squashfs/squashfs-sink.js';
import type { ImageNode } from '../../core/unpack/image-sink.js';
import { CALLERS, ensureNativeBuild, launcherFeatures, openFuseToUsers, publicTempDir, removeTree, runWithSpecFd } from './fixture.js';
import { skipWithout } from '../helpers/features.js';

type Node = ImageNode<number>;
const T = 1_700_000_000;
const node = (kind: Node['kind'], mode: number, extra: Partial<Node> = {}): Node => ({ kind, mode, mtime: T, size: 0, links: 1, ...extra });
const dir = (mode = 0o555): Node => node('dir', mode, { children: new Map() });
const SUPPORTED = sqfsWriterClass() !== undefined && launcherFeatures().includes('squashfs');

let work: string;
let image: string;
const BIG = Buffer.from(Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251));

async function put(sink: SquashfsSink, parent: Node, name: string, f: Node, ...chunks: (Buffer | number)[]): Promise<void> {
  const content = sink.file(name, f);
  for (const c of chunks) await (typeof c === 'number' ? content.hole(c) : content.write(c));
  await content.end();
  parent.children!.set(name, f);
}

beforeAll(async () => {
  ensureNativeBuild();
  openFuseToUsers();
  work = publicTempDir('envlock-own-sqfs-');
  if (skipWithout('squashfs', SUPPORTED)) return;
  image = path.join(work, 'image.sqfs');
  const sink = await SquashfsSink.create(image, { workers: 2, durable: false });
  const root = dir(0o755);
  const bin = dir();
  const etc = dir();
  const data = dir();
  root.children!.set('bin', bin).set('etc', etc).set('data', data);
  await put(sink, bin, 'busybox', node('file', 0o555), readFileSync('/bin/busybox'));
  for (const applet of ['sh', 'cat', 'id', 'ls', 'stat', 'head', 'tail', 'cmp', 'wc']) bin.children!.set(applet, node('symlink', 0o777, { target: 'busybox' }));
  await put(sink, etc, 'os-release', node('file', 0o444), Buffer.from('ID=own-writer\n'));
  const tool = node('file', 0o555, { links: 2 });
  await put(sink, data, 'tool', tool, Buffer.from('#!/bin/sh\necho tool-ran\n'));
  data.children!.set('tool-again', tool);
  await put(sink, data, 'big', node('file', 0o444), BIG, 1 << 20, Buffer.from('tail'));
  await sink.finish(root);
  chmodSync(image, 0o644); // the store publishes images readable by everyone it serves
});

afterAll(() => removeTree(work));

describe.each(CALLERS)('an image from envlock\'s own writer, as $name', ({ prefix, uid }) => {
  it.skipIf(skipWithout('squashfs', SUPPORTED))('enters it and reads back files, links, modes and holes exactly', async () => {
    const script = [
      'cat /etc/os-release',
      '/data/tool-again',
      'stat -c "%a %u %h" /data/tool /bin /etc/os-release',
      'wc -c < /data/big',
      'head -c 300000 /data/big | cmp - /tmp/expected && echo big-ok',
      'tail -c 4 /data/big; echo',
      'id -u',
    ].join('; ');
    const spec = `envlock-launch-spec 1\nsquashfs ${image}\nenv PATH=/bin\ncwd /\nbind-cwd no\nbind ${work} /tmp/w ro\n`;
    // The expected first 300,000 bytes, reachable inside through a read-only bind.
    const expected = path.join(work, 'expected');
    writeFileSync(expected, BIG, { mode: 0o644 });
    const result = await runWithSpecFd(spec, ['sh', '-c', script.replace('/tmp/expected', '/tmp/w/expected')], { prefix, env: { PATH: '/usr/bin:/bin', ENVLOCK_WARM: '0' } });
    expect(result.stderr).toBe('');
    // Owned by 0 in the image: 0 for root, the overflow id (65534) where 0 is not mapped.
    const owner = uid === 0 ? 0 : 65534;
    expect(result.stdout).toBe(
      ['ID=own-writer', 'tool-ran', `555 ${owner} 2`, `555 ${owner} 2`, `444 ${owner} 1`, String(300_000 + (1 << 20) + 4), 'big-ok', 'tail', String(uid), ''].join('\n'),
    );
    expect(result.status).toBe(0);
  });
});
