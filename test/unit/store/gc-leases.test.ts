// gc and leases (issue 13.1): an image no lockfile uses is kept while a live lease names it (a
// process of this host with that pid and start time, or a recent lease of another host), in
// both forms, and with it the blobs it was built from; a dead lease protects nothing and is
// removed; a lease that appears while gc removes an image puts the image back untouched.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sqfsWriterClass } from '../../../core/squashfs/native-writer.js';
import type { SquashfsSink } from '../../../core/squashfs/squashfs-sink.js';
import { collectGarbage } from '../../../core/store/gc.js';
import { readLeases, REMOTE_LEASE_TTL_MS } from '../../../core/store/lease.js';
import { processStartTime } from '../../../core/store/liveness.js';
import { installRootfs, removeRootfs } from '../../../core/store/rootfs-store.js';
import { installSquashfs } from '../../../core/store/squashfs-store.js';
import type { Store } from '../../../core/store/store.js';
import type { ImageNode } from '../../../core/unpack/image-sink.js';
import { digestOf, makeStore, removeDir, tempDir } from './helpers.js';

let dir: string;
let store: Store;
const manifest = digestOf(Buffer.from('manifest-in-use'));
const layer = { digest: digestOf(Buffer.from('layer')), size: 5, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' };

beforeEach(async () => {
  dir = await tempDir();
  store = makeStore(path.join(dir, 'rw'));
});
afterEach(async () => removeDir(dir));

/** A lease file as the launcher's entry library writes it. */
async function lease(host: string, pid: number, start: string, ageMs = 0): Promise<string> {
  const file = path.join(store.root, 'leases', `${manifest.replace(':', '-')}.${host}.${pid}.${start}`);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, '');
  const when = new Date(Date.now() - ageMs);
  await fs.utimes(file, when, when);
  return file;
}

function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

async function tree(): Promise<string> {
  return (await installRootfs(store, manifest, async (tmp) => {
    await fs.writeFile(path.join(tmp, 'file'), 'x');
    return { layers: [layer] };
  })).path;
}

async function squashfs(): Promise<string> {
  return (await installSquashfs(store, manifest, async (sink: SquashfsSink) => {
    const root: ImageNode<number> = { kind: 'dir', mode: 0o555, mtime: 0, size: 0, links: 1, children: new Map() };
    await sink.finish(root);
    return { treeDigest: 'sha256:tree', layers: [layer], config: digestOf(Buffer.from('config')) };
  }, { workers: 1 })).path;
}

const FORMS = [
  { form: 'tree', make: tree, skip: false },
  { form: 'squashfs', make: squashfs, skip: sqfsWriterClass() === undefined },
];

describe.each(FORMS)('gc and a leased $form image', ({ form, make, skip }) => {
  it.skipIf(skip)('keeps it while this process holds the lease, says so, and keeps its blobs', async () => {
    const image = await make();
    await fs.mkdir(path.join(store.root, 'blobs', 'sha256'), { recursive: true });
    const blob = path.join(store.root, 'blobs', 'sha256', layer.digest.slice(7));
    await fs.writeFile(blob, 'layer');
    await lease(os.hostname(), process.pid, processStartTime(process.pid)!);
    const result = await collectGarbage(store, { graceMs: 0 });
    expect(result.inUse.map((e) => [e.kind, e.digest])).toEqual([[form === 'tree' ? 'rootfs' : 'squashfs', manifest]]);
    expect(result.removed.map((e) => e.digest)).not.toContain(manifest);
    expect(existsSync(image)).toBe(true);
    expect(existsSync(blob)).toBe(true);
  });

  it.skipIf(skip)('removes it, and the lease, when the holder is gone or its pid was recycled', async () => {
    const image = await make();
    const dead = await lease(os.hostname(), deadPid(), '12345');
    const recycled = await lease(os.hostname(), process.pid, '1');
    const result = await collectGarbage(store, { graceMs: 0 });
    expect(result.inUse).toEqual([]);
    expect(result.removed.map((e) => e.digest)).toContain(manifest);
    expect(existsSync(image)).toBe(false);
    expect(existsSync(dead) || existsSync(recycled)).toBe(false);
  });

  it.skipIf(skip)('trusts a lease from another host while it is fresh, and not after a day without refresh', async () => {
    const image = await make();
    const fresh = await lease('node-7', 4242, '99');
    expect((await collectGarbage(store, { graceMs: 0 })).inUse).toHaveLength(1);
    expect(existsSync(image)).toBe(true);
    await fs.rm(fresh);
    await lease('node-7', 4242, '99', REMOTE_LEASE_TTL_MS + 60_000);
    expect((await collectGarbage(store, { graceMs: 0 })).inUse).toEqual([]);
    expect(existsSync(image)).toBe(false);
    expect(readdirSync(path.join(store.root, 'leases'))).toEqual([]);
  });
});

describe('removeRootfs with a lease taken meanwhile', () => {
  it('puts the rootfs back where it was, with its mode and meta, and reports it kept', async () => {
    const image = await tree();
    const mode = statSync(image).mode;
    const removed = await removeRootfs(store, manifest, async () => {
      expect(existsSync(image)).toBe(false);
      await lease(os.hostname(), process.pid, processStartTime(process.pid)!);
      return (await readLeases(store.root, os.hostname())).some((l) => l.live && l.digest === manifest);
    });
    expect(removed).toBe(false);
    expect(statSync(image).mode).toBe(mode);
    expect(existsSync(`${image}.json`)).toBe(true);
    expect(existsSync(path.join(image, 'file'))).toBe(true);
  });
});
