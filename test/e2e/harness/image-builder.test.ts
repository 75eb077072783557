// The image builder: descriptors agree with the bytes, and the busybox layer is a rootfs that runs.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildImage, buildIndex, busyboxLayer } from '../../helpers/image-builder.js';
import { tarEntries } from '../../helpers/tar-writer.js';

const sha = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

describe('buildImage and buildIndex', () => {
  it('describes every blob by its real digest and size, with diff_ids of the uncompressed layers', () => {
    const tars = [tarEntries([{ path: 'a', type: 'file', content: 'a' }]), tarEntries([{ path: 'b', type: 'file', content: 'b' }])];
    const image = buildImage({ layers: tars, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, config: { Entrypoint: ['/bin/sh'] }, annotations: { x: 'y' } });
    expect(image.digest).toBe(sha(image.manifestBytes));
    expect(image.configDescriptor).toEqual({ mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(image.configBytes), size: image.configBytes.length });
    expect(image.diffIds).toEqual(tars.map(sha));
    expect(image.config).toMatchObject({ architecture: 'arm64', os: 'linux', variant: 'v8', rootfs: { type: 'layers', diff_ids: tars.map(sha) }, config: { Entrypoint: ['/bin/sh'] } });
    image.layers.forEach((layer, i) => {
      const blob = image.blobs.get(layer.digest) ?? Buffer.alloc(0);
      expect(layer).toEqual({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(blob), size: blob.length });
      expect(gunzipSync(blob)).toEqual(tars[i]);
    });
    expect(JSON.parse(image.manifestBytes.toString())).toMatchObject({ schemaVersion: 2, annotations: { x: 'y' } });
    const plain = buildImage({ layers: tars, compression: 'none', platform: { os: 'linux', architecture: 'amd64' } });
    expect(plain.layers.map((l) => l.digest)).toEqual(plain.diffIds);
    expect(plain.layers[0]?.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
    const index = buildIndex([{ image, features: ['asimd'] }, { image: plain, platform: { os: 'linux', architecture: 'amd64', variant: 'v3' } }]);
    expect(index.digest).toBe(sha(index.indexBytes));
    expect(JSON.parse(index.indexBytes.toString()).manifests).toEqual([
      { ...image.descriptor, platform: { os: 'linux', architecture: 'arm64', variant: 'v8', features: ['asimd'] } },
      { ...plain.descriptor, platform: { os: 'linux', architecture: 'amd64', variant: 'v3' } },
    ]);
  });

  it('makes a busybox rootfs whose shell and applets run', () => {
    const root = mkdtempSync(join(tmpdir(), 'envlock-busybox-'));
    try {
      execFileSync('tar', ['-xf', '-', '-C', root], { input: busyboxLayer([{ path: 'hello.txt', type: 'file', content: 'hi\n' }]), stdio: ['pipe', 'pipe', 'pipe'] });
      const out = execFileSync('/usr/sbin/chroot', [root, '/bin/sh', '-c', 'head -1 /etc/os-release; whoami; cat /hello.txt; /usr/bin/env true && echo env-ok; ls -ld /tmp'], { env: { PATH: '/bin:/usr/bin' } }).toString();
      expect(out.split('\n').slice(0, 4)).toEqual(['ID=envlock-test', 'root', 'hi', 'env-ok']);
      expect(out).toMatch(/drwxrwxrwt/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
