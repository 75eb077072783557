import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingestBlob } from '../../../core/store/blob-store.js';
import { installRootfs, readRootfsMeta } from '../../../core/store/rootfs-store.js';
import type { Store } from '../../../core/store/store.js';
import { listBlobDigests, verifyBlob, verifyDigests, verifyRootfs } from '../../../core/store/verify.js';
import { treeDigest } from '../../../core/unpack/tree-digest.js';
import { digestOf, fakeSource, makeStore, randomData, removeDir, tempDir } from './helpers.js';

let dir: string;
let store: Store;
const data = randomData(3000, 3);
const desc = { digest: digestOf(data), size: data.length };
const manifest = digestOf(Buffer.from('manifest-v'));

beforeEach(async () => {
  dir = await tempDir();
  store = makeStore(path.join(dir, 'rw'));
});
afterEach(async () => removeDir(dir));

describe('verify', () => {
  it('passes an intact blob and reports a damaged one with both digests', async () => {
    const { path: file } = await ingestBlob(store, desc, fakeSource(data).fetch);
    expect(await verifyBlob(store, desc.digest)).toEqual({ kind: 'blob', digest: desc.digest, path: file, ok: true, readOnly: false });
    const damaged = Buffer.from(data);
    damaged[0] = damaged[0]! ^ 1;
    await fs.chmod(file, 0o644);
    await fs.writeFile(file, damaged);
    expect(await verifyBlob(store, desc.digest)).toEqual({
      kind: 'blob', digest: desc.digest, path: file, ok: false, problem: 'digest-mismatch', expected: desc.digest, actual: digestOf(damaged), readOnly: false,
    });
    expect(await listBlobDigests(store.root)).toEqual([desc.digest]);
  });

  it('reports a missing blob', async () => {
    expect(await verifyBlob(store, desc.digest)).toMatchObject({ ok: false, problem: 'missing' });
  });

  it('compares a rootfs tree digest with the one recorded at unpack time', async () => {
    const { path: root } = await installRootfs(store, manifest, async (tmp) => {
      await fs.writeFile(path.join(tmp, 'hello'), 'hi\n');
      return { layers: [desc] };
    });
    // installRootfs records the digest of the sealed tree.
    expect((await readRootfsMeta(root))?.treeDigest).toBe(await treeDigest(root));
    expect(await verifyRootfs(store, manifest)).toMatchObject({ ok: true, path: root });
    await fs.chmod(root, 0o755);
    await fs.writeFile(path.join(root, 'intruder'), 'x');
    const report = await verifyRootfs(store, manifest);
    expect(report).toMatchObject({ ok: false, problem: 'tree-mismatch' });
    expect(report.actual).not.toBe(report.expected);
  });

  it('reports a rootfs without a recorded tree digest, and uses an injected treeDigest', async () => {
    await installRootfs(store, manifest, async () => ({ layers: [] }), { recordTreeDigest: false });
    expect(await verifyRootfs(store, manifest)).toMatchObject({ ok: false, problem: 'meta-missing' });
    const other = digestOf(Buffer.from('manifest-w'));
    await installRootfs(store, other, async () => ({ layers: [], treeDigest: 'sha256:x' }), { recordTreeDigest: false });
    const reports = await verifyDigests(store, [other, desc.digest], { treeDigest: async () => 'sha256:x' });
    expect(reports.map((r) => [r.kind, r.ok, r.problem])).toEqual([['rootfs', true, undefined], ['blob', false, 'missing']]);
  });
});
