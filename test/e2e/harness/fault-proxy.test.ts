// The fault-injecting proxy: pass-through is faithful (Range included) and each fault does what
// its name says, on exactly the requests its rule selects.

import { createHash } from 'node:crypto';
import { get } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';

interface RawResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  error?: string;
  ms: number;
}

/** A raw GET that reports how many bytes arrived and how the connection ended. */
function rawGet(url: string, headers: Record<string, string> = {}): Promise<RawResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const request = get(url, { headers, agent: false }, (response) => {
      const done = (error?: string) =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks), ms: Date.now() - started, ...(error ? { error } : {}) });
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => done());
      response.on('aborted', () => done('aborted'));
      response.on('error', (e) => done(e.message || 'error'));
    });
    request.on('error', (e: NodeJS.ErrnoException) => resolve({ status: 0, headers: {}, body: Buffer.alloc(0), error: e.code ?? e.message, ms: Date.now() - started }));
  });
}

const sha = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

describe('fault proxy', () => {
  const registry = inject('registry');
  const images = inject('testImages');
  let proxy: FaultProxy;
  let layerDigest = '';
  let layerSize = 0;
  const blobUrl = () => `${proxy.url}/v2/busybox/blobs/${layerDigest}`;

  beforeAll(async () => {
    proxy = await startFaultProxy(registry);
    const manifest = (await (await fetch(`http://${registry}/v2/busybox/manifests/${images.busyboxAmd64}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).json()) as { layers: { digest: string; size: number }[] };
    layerDigest = manifest.layers[0]?.digest ?? '';
    layerSize = manifest.layers[0]?.size ?? 0;
  });
  afterAll(async () => proxy.stop());
  beforeEach(() => proxy.setRules([]));

  it('passes requests through unchanged, with headers and Range', async () => {
    const full = await rawGet(blobUrl());
    expect(full.status).toBe(200);
    expect(sha(full.body)).toBe(layerDigest);
    expect(full.headers['docker-content-digest']).toBe(layerDigest);
    const part = await rawGet(blobUrl(), { range: 'bytes=10-19' });
    expect(part.status).toBe(206);
    expect(part.body).toEqual(full.body.subarray(10, 20));
    expect(proxy.requests.at(-1)).toEqual({ method: 'GET', path: `/v2/busybox/blobs/${layerDigest}`, status: 206, range: 'bytes=10-19' });
  });

  it('answers a status fault on the Nth matching request only', async () => {
    proxy.setRules([{ method: 'GET', path: /\/blobs\//, nth: 2, action: { kind: 'status', status: 429, headers: { 'retry-after': '1' } } }]);
    const first = await rawGet(blobUrl());
    const second = await rawGet(blobUrl());
    const third = await rawGet(blobUrl());
    expect([first.status, second.status, third.status]).toEqual([200, 429, 200]);
    expect(second.headers['retry-after']).toBe('1');
    expect(proxy.requests.at(-2)).toMatchObject({ status: 429, fault: 'status' });
  });

  it('applies a rule at most `times` times and leaves other methods alone', async () => {
    proxy.setRules([{ method: 'GET', path: '/blobs/', times: 2, action: { kind: 'status', status: 503 } }]);
    const head = await fetch(blobUrl(), { method: 'HEAD' });
    expect(head.status).toBe(200);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await rawGet(blobUrl())).status);
    expect(statuses).toEqual([503, 503, 200]);
  });

  it('resets the connection before any response', async () => {
    proxy.setRules([{ path: '/blobs/', action: { kind: 'reset' } }]);
    const result = await rawGet(blobUrl());
    expect(result.status).toBe(0);
    expect(result.error).toBe('ECONNRESET');
  });

  it('resets the connection after N bytes of body', async () => {
    proxy.setRules([{ path: '/blobs/', action: { kind: 'reset', afterBytes: 4096 } }]);
    const result = await rawGet(blobUrl());
    expect(result.status).toBe(200);
    expect(result.error).toBeDefined();
    expect(result.body.length).toBe(4096);
  });

  it('truncates the body below its Content-Length and closes', async () => {
    proxy.setRules([{ path: '/blobs/', action: { kind: 'truncate', bytes: 1000 } }]);
    const result = await rawGet(blobUrl());
    expect(Number(result.headers['content-length'])).toBe(layerSize);
    expect(result.body.length).toBe(1000);
    expect(result.error).toBeDefined();
    await expect(fetch(blobUrl()).then((r) => r.arrayBuffer())).rejects.toThrow();
  });

  it('corrupts exactly one byte, keeping the length', async () => {
    proxy.setRules([{ path: '/blobs/', action: { kind: 'corrupt', offset: 12345 } }]);
    const bad = await rawGet(blobUrl());
    proxy.setRules([]);
    const good = await rawGet(blobUrl());
    expect(bad.body.length).toBe(good.body.length);
    expect(sha(bad.body)).not.toBe(layerDigest);
    const differing = [...bad.body].flatMap((byte, i) => (byte !== good.body[i] ? [i] : []));
    expect(differing).toEqual([12345]);
  });

  it('delays the response head and throttles the body', async () => {
    proxy.setRules([{ path: /manifests/, action: { kind: 'slow', delayMs: 400 } }]);
    const delayed = await rawGet(`${proxy.url}/v2/busybox/manifests/amd64`, { accept: 'application/vnd.oci.image.manifest.v1+json' });
    expect(delayed.status).toBe(200);
    expect(delayed.ms).toBeGreaterThanOrEqual(380);
    proxy.setRules([{ path: '/blobs/', action: { kind: 'slow', bytesPerSecond: 20_000 } }]);
    const throttled = await rawGet(blobUrl(), { range: 'bytes=0-9999' });
    expect(throttled.body.length).toBe(10_000);
    expect(throttled.ms).toBeGreaterThanOrEqual(400);
  });

  it('rewrites and deletes response headers', async () => {
    const fake = `sha256:${'0'.repeat(64)}`;
    proxy.setRules([{ path: '/blobs/', action: { kind: 'rewriteHeader', headers: { 'Docker-Content-Digest': fake, 'content-type': null } } }]);
    const result = await rawGet(blobUrl());
    expect(result.headers['docker-content-digest']).toBe(fake);
    expect(result.headers['content-type']).toBeUndefined();
    expect(sha(result.body)).toBe(layerDigest);
  });

  it('redirects to another host, which records whether credentials followed', async () => {
    const other = await startFaultProxy(registry);
    try {
      proxy.setRules([{ path: '/blobs/', action: { kind: 'redirect', location: `${other.url}{path}` } }]);
      const first = await rawGet(blobUrl(), { authorization: 'Bearer secret' });
      expect(first.status).toBe(307);
      expect(first.headers.location).toBe(`${other.url}/v2/busybox/blobs/${layerDigest}`);
      expect(proxy.requests.at(-1)).toMatchObject({ fault: 'redirect', authorization: 'Bearer secret' });
      const followed = await fetch(blobUrl(), { headers: { authorization: 'Bearer secret' } });
      expect(sha(Buffer.from(await followed.arrayBuffer()))).toBe(layerDigest);
      expect(other.requests).toHaveLength(1);
      // fetch drops Authorization on a cross-origin redirect (Fetch standard, HTTP-redirect fetch).
      expect(other.requests[0]?.authorization).toBeUndefined();
    } finally {
      await other.stop();
    }
  });
});
