// Interoperability of OCI image layouts with skopeo and umoci: the example image script, layouts
// written by core/oci/layout.ts, and layouts written by skopeo read back by it.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { findInLayout, readLayoutBlob, readLayoutIndex, writeLayout } from '../../../core/oci/layout.js';
import { REPO_ROOT } from '../../helpers/cli.js';
import { buildImage, buildIndex, busyboxLayer } from '../../helpers/image-builder.js';

const run = promisify(execFile);
const sha = (data: string | Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const work = mkdtempSync(join(tmpdir(), 'envlock-layout-e2e-'));

describe('OCI layouts against skopeo and umoci', () => {
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('builds the example image reproducibly, as a two-platform index skopeo and umoci accept', async () => {
    const out = join(work, 'example');
    const script = join(REPO_ROOT, 'scripts', 'build-example-image.mjs');
    const first = (await run(process.execPath, [script, out])).stdout;
    const second = (await run(process.execPath, [script, out])).stdout;
    expect(second).toBe(first);
    const raw = (await run('skopeo', ['inspect', '--raw', `oci:${out}:latest`])).stdout;
    expect(first.trim().split(' ').pop()).toBe(sha(raw));
    const index = JSON.parse(raw);
    expect(index.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture)).toEqual(['amd64', 'arm64']);
    const tagged = await findInLayout(out, 'latest');
    expect(tagged.digest).toBe(sha(raw));
    expect(tagged.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    // skopeo picks the amd64 image; umoci unpacks it into a rootfs whose busybox is the host's.
    const single = join(work, 'single');
    await run('skopeo', ['copy', `oci:${out}:latest`, `oci:${single}:latest`]);
    await run('umoci', ['unpack', '--rootless', '--image', `${single}:latest`, join(work, 'bundle')]);
    expect(readFileSync(join(work, 'bundle', 'rootfs', 'etc', 'os-release'), 'utf8')).toContain('ID=envlock-example');
    expect(sha(readFileSync(join(work, 'bundle', 'rootfs', 'bin', 'busybox')))).toBe(sha(readFileSync('/bin/busybox')));
  });

  it('writes layouts skopeo copies to a directory with every blob intact', async () => {
    const amd64 = buildImage({ layers: [busyboxLayer()], platform: { os: 'linux', architecture: 'amd64' } });
    const arm64 = buildImage({ layers: [busyboxLayer()], platform: { os: 'linux', architecture: 'arm64' } });
    const index = buildIndex([{ image: amd64 }, { image: arm64 }]);
    const blobs = new Map<string, Buffer | string>([...amd64.blobs, ...arm64.blobs]);
    blobs.set(amd64.digest, amd64.manifestBytes).set(arm64.digest, arm64.manifestBytes).set(index.digest, index.indexBytes);
    const layout = join(work, 'written');
    await writeLayout(layout, { blobs, manifests: [{ descriptor: index.descriptor, refName: 'multi' }, { descriptor: amd64.descriptor, refName: 'amd64' }] });
    expect(sha((await run('skopeo', ['inspect', '--raw', `oci:${layout}:multi`])).stdout)).toBe(index.digest);
    const dir = join(work, 'dir-copy');
    await run('skopeo', ['copy', `oci:${layout}:amd64`, `dir:${dir}`]);
    expect(sha(readFileSync(join(dir, 'manifest.json')))).toBe(amd64.digest);
    const layer = amd64.layers[0]?.digest ?? '';
    expect(sha(readFileSync(join(dir, layer.slice(7))))).toBe(layer);
  });

  it('reads layouts that skopeo wrote', async () => {
    const src = join(work, 'written');
    const copy = join(work, 'skopeo-written');
    await run('skopeo', ['copy', `oci:${src}:amd64`, `oci:${copy}:v1`]);
    const index = await readLayoutIndex(copy);
    expect(index.manifests).toHaveLength(1);
    const found = await findInLayout(copy, 'v1');
    const manifest = JSON.parse((await readLayoutBlob(copy, found)).toString('utf8'));
    expect(manifest.layers).toHaveLength(1);
  });
});
