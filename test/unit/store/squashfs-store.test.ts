// Squashfs images in the store: published complete or not at all, found by the one lookup next
// to trees, built once by concurrent callers, verified by size and digest, collected by gc.

import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sqfsWriterClass } from '../../../core/squashfs/native-writer.js';
import type { SquashfsSink } from '../../../core/squashfs/squashfs-sink.js';
import { findImage } from '../../../core/store/find.js';
import { collectGarbage } from '../../../core/store/gc.js';
import { storeInfo } from '../../../core/store/info.js';
import { installRootfs } from '../../../core/store/rootfs-store.js';
import { installSquashfs, readSquashfsMeta, removeSquashfs } from '../../../core/store/squashfs-store.js';
import type { Store } from '../../../core/store/store.js';
import { verifyImage, verifySquashfs } from '../../../core/store/verify-squashfs.js';
import type { ImageNode } from '../../../core/unpack/image-sink.js';
import { digestOf, makeStore, removeDir, tempDir } from './helpers.js';
import { skipWithout } from '../../helpers/features.js';

const manifest = digestOf(Buffer.from('manifest-sqfs'));
const layer = { digest: digestOf(Buffer.from('layer')), size: 5, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' };
let dir: string;
let store: Store;

beforeEach(async () => {
  dir = await tempDir();
  store = makeStore(path.join(dir, 'rw'));
});
afterEach(async () => removeDir(dir));

/** A one-file image, as unpackImage would leave it. */
async function build(sink: SquashfsSink, text = 'hello\n') {
  const root: ImageNode<number> = { kind: 'dir', mode: 0o555, mtime: 0, size: 0, links: 1, children: new Map() };
  const file: ImageNode<number> = { kind: 'file', mode: 0o444, mtime: 0, size: text.length, links: 1 };
  const content = await sink.file('hello', file);
  await content.write(Buffer.from(text));
  await content.end();
  root.children!.set('hello', file);
  await sink.finish(root);
  return { treeDigest: 'sha256:tree', layers: [layer], config: digestOf(Buffer.from('config')) };
}

describe.skipIf(skipWithout('squashfs', sqfsWriterClass() !== undefined))('squashfs images in the store', () => {
  it('publishes one readable file with its meta, and findImage returns it', async () => {
    const { path: file, created } = await installSquashfs(store, manifest, (sink) => build(sink), { workers: 1 });
    expect(created).toBe(true);
    expect(file).toBe(path.join(store.root, 'squashfs', 'sha256', `${manifest.slice(7)}.sqfs`));
    expect((await fs.stat(file)).mode & 0o777).toBe(0o444);
    const meta = await readSquashfsMeta(file);
    expect(meta).toMatchObject({ form: 'squashfs', manifestDigest: manifest, treeDigest: 'sha256:tree', layers: [layer], writer: { compressor: 'zstd', level: 1, blockSize: 131072 } });
    expect(meta!.file.size).toBe((await fs.stat(file)).size);
    expect(findImage(store, manifest)).toEqual({ form: 'squashfs', path: file, store: store.root, readOnly: false });
    expect(findImage(store, manifest, { forms: ['tree'] })).toBeUndefined();
    expect(await fs.readdir(store.dir('tmp'))).toEqual([]);
    expect((await installSquashfs(store, manifest, () => Promise.reject(new Error('not called')))).created).toBe(false);
  });

  it('builds once when several callers need the same image at the same time', async () => {
    let builds = 0;
    const results = await Promise.all(
      [1, 2, 3].map(() =>
        installSquashfs(makeStore(store.root), manifest, (sink) => {
          builds++;
          return build(sink);
        }),
      ),
    );
    expect(builds).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.path)).size).toBe(1);
  });

  it('leaves nothing visible when the build fails, and the next build succeeds', async () => {
    await expect(
      installSquashfs(store, manifest, async (sink) => {
        const content = await sink.file('x', { kind: 'file', mode: 0o444, mtime: 0, size: 0, links: 1 });
        await content.write(Buffer.alloc(300_000, 1));
        throw new Error('layer rejected');
      }),
    ).rejects.toThrow('layer rejected');
    expect(findImage(store, manifest)).toBeUndefined();
    expect(await fs.readdir(path.join(store.root, 'squashfs', 'sha256'))).toEqual([]);
    expect(await fs.readdir(store.dir('tmp'))).toEqual([]);
    expect((await installSquashfs(store, manifest, (sink) => build(sink))).created).toBe(true);
  });

  it('removes what a killed builder left in tmp/ before building again', async () => {
    await store.prepare();
    const leftover = path.join(store.dir('tmp'), `squashfs-${manifest.slice(7)}-dead.sqfs`);
    await fs.writeFile(leftover, 'half an image');
    await installSquashfs(store, manifest, (sink) => build(sink));
    expect(await fs.readdir(store.dir('tmp'))).toEqual([]);
  });

  it('finds a truncated or altered file, naming it, and accepts the intact one', async () => {
    const { path: file } = await installSquashfs(store, manifest, (sink) => build(sink));
    expect(await verifySquashfs(store, manifest)).toMatchObject({ kind: 'squashfs', ok: true, path: file });
    const bytes = await fs.readFile(file);
    await fs.chmod(file, 0o644);
    await fs.writeFile(file, bytes.subarray(0, bytes.length - 4096));
    expect(await verifySquashfs(store, manifest)).toMatchObject({ ok: false, problem: 'size-mismatch', path: file, expected: `${bytes.length} bytes`, actual: `${bytes.length - 4096} bytes` });
    const altered = Buffer.from(bytes);
    altered[200] = (altered[200] ?? 0) ^ 0xff;
    await fs.writeFile(file, altered);
    expect(await verifySquashfs(store, manifest)).toMatchObject({ ok: false, problem: 'digest-mismatch', path: file });
    await removeSquashfs(store, manifest);
    expect(findImage(store, manifest)).toBeUndefined();
    expect(await verifyImage(store, manifest)).toEqual([]);
  });

  it('keeps both forms of one image side by side, and reports on each', async () => {
    await installSquashfs(store, manifest, (sink) => build(sink));
    await installRootfs(store, manifest, async (tmp) => {
      await fs.writeFile(path.join(tmp, 'hello'), 'hello\n');
      return { layers: [layer] };
    });
    expect(findImage(store, manifest)?.form).toBe('squashfs');
    expect(findImage(store, manifest, { forms: ['tree', 'squashfs'] })?.form).toBe('tree');
    expect((await verifyImage(store, manifest)).map((r) => [r.kind, r.ok])).toEqual([['rootfs', true], ['squashfs', true]]);
    const info = await storeInfo(store);
    expect([info.rootfsCount, info.squashfsCount]).toEqual([1, 1]);
  });

  it('is searched in read-only stores first', async () => {
    const site = makeStore(path.join(dir, 'site'));
    await installSquashfs(site, manifest, (sink) => build(sink, 'site\n'));
    const user = makeStore(path.join(dir, 'user'), [site.root]);
    await installRootfs(user, manifest, async (tmp) => {
      await fs.writeFile(path.join(tmp, 'hello'), 'user\n');
      return { layers: [layer] };
    });
    expect(findImage(user, manifest)).toMatchObject({ form: 'squashfs', store: site.root, readOnly: true });
    expect(findImage(user, manifest, { forms: ['tree'] })).toMatchObject({ form: 'tree', store: user.root, readOnly: false });
  });

  it('is collected by gc when nothing uses it, with its meta, and a lone meta too', async () => {
    const { path: file } = await installSquashfs(store, manifest, (sink) => build(sink));
    const other = digestOf(Buffer.from('other'));
    await store.prepare();
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(path.join(path.dirname(file), `${other.slice(7)}.json`), '{}');
    const result = await collectGarbage(store, { graceMs: 0 });
    expect(result.removed.map((e) => [e.kind, e.digest]).sort()).toEqual([['squashfs', manifest], ['squashfs', other]].sort());
    expect(await fs.readdir(path.dirname(file))).toEqual([]);
  });
});
