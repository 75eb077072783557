// The shared registry and standard images: a peer client (skopeo) reads back exactly the bytes
// and digests the image builder computed.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { buildImage, busyboxLayer, pushImage } from '../../helpers/image-builder.js';
import { startRegistry } from '../../helpers/registry.js';
import { VARIANT_FEATURES } from '../../helpers/standard-images.js';

const run = promisify(execFile);

async function skopeoRaw(ref: string): Promise<string> {
  const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${ref}`]);
  return stdout;
}

function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

describe('shared registry from the global setup', () => {
  const host = inject('registry');
  const images = inject('testImages');

  it('serves busybox:latest as an index with the digest the builder computed, listing amd64 and arm64', async () => {
    const raw = await skopeoRaw(`${host}/busybox:latest`);
    expect(sha256(raw)).toBe(images.busybox);
    const index = JSON.parse(raw);
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture)).toEqual(['amd64', 'arm64']);
    expect(index.manifests[0].digest).toBe(images.busyboxAmd64);
    expect(index.manifests[1].digest).toBe(images.busyboxArm64);
  });

  it('serves busybox:amd64 as the single amd64 manifest', async () => {
    const raw = await skopeoRaw(`${host}/busybox:amd64`);
    expect(sha256(raw)).toBe(images.busyboxAmd64);
    const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', '--config', `docker://${host}/busybox:amd64`]);
    const config = JSON.parse(stdout);
    expect(config.architecture).toBe('amd64');
    expect(config.rootfs.diff_ids).toHaveLength(1);
  });

  it('serves variants:latest with distinct v2/v3/v4 manifests carrying their CPU features', async () => {
    const index = JSON.parse(await skopeoRaw(`${host}/variants:latest`));
    expect(index.manifests.map((m: { platform: { variant: string } }) => m.platform.variant)).toEqual(['v2', 'v3', 'v4']);
    expect(index.manifests.map((m: { digest: string }) => m.digest)).toEqual([images.variantV2, images.variantV3, images.variantV4]);
    expect(index.manifests[2].platform.features).toEqual(VARIANT_FEATURES.v4);
    expect(new Set([images.variantV2, images.variantV3, images.variantV4]).size).toBe(3);
  });

  it('serves layered:latest with two layers, the second holding a whiteout and an opaque marker', async () => {
    const manifest = JSON.parse(await skopeoRaw(`${host}/layered:latest`));
    expect(manifest.layers).toHaveLength(2);
    const blob = await fetch(`http://${host}/v2/layered/blobs/${manifest.layers[1].digest}`);
    expect(blob.status).toBe(200);
    const { gunzipSync } = await import('node:zlib');
    const tar = gunzipSync(Buffer.from(await blob.arrayBuffer())).toString('latin1');
    expect(tar).toContain('etc/.wh.hostname');
    expect(tar).toContain('opt/data/.wh..wh..opq');
  });
});

describe('zstd image', () => {
  it('serves zstd:latest with a tar+zstd layer whose diff_id is the uncompressed tar', async () => {
    const host = inject('registry');
    const manifest = JSON.parse(await skopeoRaw(`${host}/zstd:latest`));
    expect(sha256(JSON.stringify(manifest))).toBe(inject('testImages').zstd);
    expect(manifest.layers[0].mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', '--config', `docker://${host}/zstd:latest`]);
    const blob = Buffer.from(await (await fetch(`http://${host}/v2/zstd/blobs/${manifest.layers[0].digest}`)).arrayBuffer());
    const { execFileSync } = await import('node:child_process');
    const tar = execFileSync('zstd', ['-d', '-c'], { input: blob, maxBuffer: 1 << 28 });
    expect(`sha256:${createHash('sha256').update(tar).digest('hex')}`).toBe(JSON.parse(stdout).rootfs.diff_ids[0]);
  });
});

describe('startRegistry', () => {
  it('starts a private registry, logs requests, and stops it, freeing its directory', async () => {
    const registry = await startRegistry();
    const image = buildImage({ layers: [busyboxLayer()], platform: { os: 'linux', architecture: 'amd64' } });
    await pushImage(registry.host, 'own/thing', 'v1', image);
    const got = await fetch(`${registry.url}/v2/own/thing/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(got.headers.get('docker-content-digest')).toBe(image.digest);
    await got.arrayBuffer();
    const log = await registry.requestLog();
    expect(log).toContain('GET /v2/own/thing/manifests/v1 200');
    expect(log.filter((l) => l.startsWith('PUT /v2/own/thing/blobs/uploads/'))).toHaveLength(2);
    await registry.stop();
    expect(existsSync(registry.dir)).toBe(false);
    await expect(fetch(`${registry.url}/v2/`)).rejects.toThrow();
  });
});

describe('registry watchdog', () => {
  it('kills the registry when the process that started it dies without cleaning up', async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { spawn } = await import('node:child_process');
    const { freePort, REGISTRY_BINARY, WATCHDOG } = await import('../../helpers/registry.js');
    const dir = mkdtempSync(join(tmpdir(), 'envlock-watchdog-'));
    const port = await freePort();
    writeFileSync(join(dir, 'config.yml'), `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${JSON.stringify(join(dir, 'data'))}\nhttp:\n  addr: 127.0.0.1:${port}\n`);
    // A parent that starts the registry the way startRegistry does, then is killed with SIGKILL.
    const parentScript = `const { spawn } = require('node:child_process');
      spawn('sh', ['-c', ${JSON.stringify(WATCHDOG)}, ${JSON.stringify(REGISTRY_BINARY)}, ${JSON.stringify(join(dir, 'config.yml'))}], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
      setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['-e', parentScript], { stdio: 'ignore' });
    const up = async () => fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.status, () => 0);
    for (let i = 0; i < 200 && (await up()) !== 200; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await up()).toBe(200);
    parent.kill('SIGKILL');
    let status = 200;
    for (let i = 0; i < 100 && status !== 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      status = await up();
    }
    expect(status).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('startRegistry failures', () => {
  it('reports a registry that exits during start-up, with its log', async () => {
    await expect(startRegistry({ extraConfig: { notifications: 'not-a-map' } })).rejects.toThrow(/docker-registry exited during start-up:[\s\S]*notifications|docker-registry exited during start-up:[\s\S]*yaml/i);
  });
});
