// The client against the real docker-registry: index resolution agrees with skopeo, HEAD and
// GET agree, configs and layers come back intact, and missing things are reported clearly.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseRegistryReference } from '../../../core/registry/reference.js';
import { startFaultProxy } from '../../helpers/fault-proxy.js';
import { freePort } from '../../helpers/registry.js';
import { clientEnv, failure, type ClientEnv } from './client-env.js';

const host = inject('registry');
const images = inject('testImages');
let env: ClientEnv;

beforeAll(async () => {
  env = await clientEnv();
});
afterAll(async () => env.close());

describe('resolveManifest against docker-registry', () => {
  it('resolves the multi-platform busybox index to the digest skopeo sees', async () => {
    const resolved = await env.client.resolveManifest(parseRegistryReference(`${host}/busybox:latest`));
    const raw = execFileSync('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${host}/busybox:latest`]);
    const skopeoDigest = `sha256:${createHash('sha256').update(raw).digest('hex')}`;
    expect(resolved.descriptor.digest).toBe(skopeoDigest);
    expect(resolved.descriptor.digest).toBe(images.busybox);
    expect(resolved.descriptor.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(resolved.json.manifests?.map((m) => m.digest)).toEqual([images.busyboxAmd64, images.busyboxArm64]);
  });

  it('HEAD gives the same descriptor as GET, without transferring the body', async () => {
    const proxy = await startFaultProxy(host);
    try {
      const ref = parseRegistryReference(`${proxy.host}/busybox:latest`);
      const head = await env.client.headManifest(ref);
      expect(proxy.requests.map((r) => `${r.method} ${r.status}`)).toEqual(['HEAD 200']);
      const get = await env.client.resolveManifest(ref);
      expect(head).toEqual(get.descriptor);
    } finally {
      await proxy.stop();
    }
  });

  it('fetches a platform manifest by digest, its config and its layer, all matching their digests', async () => {
    const ref = parseRegistryReference(`${host}/busybox:latest`);
    const manifest = await env.client.getManifest(ref, images.busyboxAmd64);
    expect(manifest.descriptor.digest).toBe(images.busyboxAmd64);
    const config = await env.client.getBlobJSON<{ architecture: string }>(ref, manifest.json.config!.digest);
    expect(config.architecture).toBe('amd64');
    const layer = manifest.json.layers![0]!;
    const blob = await env.client.getBlob(ref, layer.digest, { expectedSize: layer.size });
    const hash = createHash('sha256');
    for await (const chunk of blob.stream) hash.update(chunk as Buffer);
    expect(`sha256:${hash.digest('hex')}`).toBe(layer.digest);
    expect(blob.size).toBe(layer.size);
  });

  it('reports a missing tag and a missing repository as REGISTRY_NOT_FOUND', async () => {
    const tag = await failure(env.client.resolveManifest(parseRegistryReference(`${host}/busybox:nope`)));
    expect(tag.code).toBe('REGISTRY_NOT_FOUND');
    expect(tag.exitCode).toBe(1);
    expect(tag.message).toMatch(new RegExp(`^Tag \`nope\` not found in \`busybox\` at \`${host.replace(/\./g, '\\.')}\``));
    const repo = await failure(env.client.resolveManifest(parseRegistryReference(`${host}/no/such/repo:1`)));
    expect(repo.code).toBe('REGISTRY_NOT_FOUND');
    const blob = await failure(env.client.getBlob(parseRegistryReference(`${host}/busybox:latest`), `sha256:${'0'.repeat(64)}`));
    expect(blob.code).toBe('REGISTRY_NOT_FOUND');
    expect(blob.message).toContain(`Blob sha256:${'0'.repeat(64)} not found`);
  });

  it('reports a port nobody listens on as REGISTRY_UNREACHABLE', async () => {
    const port = await freePort();
    const error = await failure(env.client.resolveManifest(parseRegistryReference(`127.0.0.1:${port}/busybox:latest`)));
    expect(error.code).toBe('REGISTRY_UNREACHABLE');
    expect(error.message).toBe(`The registry 127.0.0.1:${port} for 127.0.0.1:${port}/busybox:latest could not be reached (ECONNREFUSED).`);
    expect(error.hint).toMatch(/mirror/);
  });
});
