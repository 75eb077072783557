// ImageSource end to end: the same image read from the registry, from an OCI layout that skopeo
// wrote, and from an OCI archive that skopeo wrote, gives the same verified bytes.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeContext } from '../../../core/context.js';
import { parseReference } from '../../../core/registry/reference.js';
import { openSource, type ImageSource } from '../../../core/source/image-source.js';
import { tempHome } from './client-env.js';

const host = inject('registry');
const images = inject('testImages');
let dir: string;

beforeAll(() => {
  dir = tempHome();
  const copy = (dest: string) => execFileSync('skopeo', ['copy', '--quiet', '--all', '--preserve-digests', '--src-tls-verify=false', `docker://${host}/busybox:latest`, dest]);
  copy(`oci:${path.join(dir, 'layout')}:stable`);
  copy(`oci-archive:${path.join(dir, 'busybox.tar')}:stable`);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function layerDigest(source: ImageSource): Promise<{ digest: string; actual: string }> {
  const manifest = await source.fetchManifest(images.busyboxAmd64);
  const layer = manifest.json.layers![0]!;
  const blob = await source.openBlob(layer.digest, 0, undefined, layer.size);
  const hash = createHash('sha256');
  for await (const chunk of blob.stream) hash.update(chunk as Buffer);
  return { digest: layer.digest, actual: `sha256:${hash.digest('hex')}` };
}

describe.each([
  ['registry', () => `${host}/busybox:latest`],
  ['oci layout', () => 'oci:layout:stable'],
  ['oci archive', () => 'oci-archive:busybox.tar:stable'],
])('%s source', (_name, reference) => {
  it('resolves the busybox index, heads it, and streams a verified layer', async () => {
    const ctx = makeContext({ env: { HOME: dir, TMPDIR: dir, CONTAINERS_REGISTRIES_CONF: path.join(dir, 'none.conf') }, cwd: dir });
    const source = await openSource(parseReference(reference(), { baseDir: dir }), ctx);
    try {
      const resolved = await source.resolve();
      expect(resolved.descriptor.digest).toBe(images.busybox);
      expect(await source.head()).toEqual(resolved.descriptor);
      const manifest = await source.fetchManifest(images.busyboxAmd64);
      expect(await source.fetchBlobJSON(manifest.json.config!.digest)).toMatchObject({ architecture: 'amd64', os: 'linux' });
      const layer = await layerDigest(source);
      expect(layer.actual).toBe(layer.digest);
    } finally {
      await source.close();
    }
  });
});
