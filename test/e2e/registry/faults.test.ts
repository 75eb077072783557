// Faults between the client and the real registry: rate limiting, gateway storms, corrupted
// bytes, a connection reset mid-blob (resumed with Range), and a cross-host blob redirect.

import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseRegistryReference } from '../../../core/registry/reference.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { buildImage, busyboxLayer, pushImage } from '../../helpers/image-builder.js';
import { startRegistry, type RunningRegistry } from '../../helpers/registry.js';
import { basicAuthFile, clientEnv, failure, tempHome, type ClientEnv } from './client-env.js';

const host = inject('registry');
const images = inject('testImages');
let env: ClientEnv;
let proxy: FaultProxy;
let registry: RunningRegistry;
const image = buildImage({ layers: [busyboxLayer()], platform: { os: 'linux', architecture: 'amd64' } });
const auth = `Basic ${Buffer.from('bob:builder').toString('base64')}`;

beforeAll(async () => {
  // Pushed before any client exists: loading undici replaces the global fetch dispatcher, and
  // the push helper's explicit content-length header is then refused.
  registry = await startRegistry({ auth: 'htpasswd', users: { bob: 'builder' } });
  await pushImage(registry.host, 'app', '1', image, { authorization: auth });
  env = await clientEnv();
  proxy = await startFaultProxy(host);
});
afterAll(async () => {
  await env.close();
  await proxy.stop();
  await registry.stop();
});

function fresh(): void {
  proxy.setRules([]);
  proxy.requests.length = 0;
}

describe('retries through a fault proxy', () => {
  it('waits for Retry-After on 429, then succeeds', async () => {
    fresh();
    proxy.setRules([{ method: 'GET', path: '/manifests/latest', nth: 1, action: { kind: 'status', status: 429, headers: { 'retry-after': '1' }, body: '{"errors":[{"code":"TOOMANYREQUESTS"}]}' } }]);
    const started = Date.now();
    const resolved = await env.client.resolveManifest(parseRegistryReference(`${proxy.host}/busybox:latest`));
    expect(resolved.descriptor.digest).toBe(images.busybox);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(proxy.requests.map((r) => r.status)).toEqual([429, 200]);
  });

  it('gives up on a 503 storm with REGISTRY_RATE_LIMITED after five attempts', async () => {
    fresh();
    proxy.setRules([{ path: '/manifests/', action: { kind: 'status', status: 503 } }]);
    const error = await failure(env.client.resolveManifest(parseRegistryReference(`${proxy.host}/busybox:latest`)));
    expect(error.code).toBe('REGISTRY_RATE_LIMITED');
    expect(error.exitCode).toBe(1);
    expect(error.message).toBe(`The registry ${proxy.host} kept answering HTTP 503 for the manifest of ${proxy.host}/busybox:latest, after several retries.`);
    expect(proxy.requests).toHaveLength(5);
  });
});

describe('integrity', () => {
  it('reports corrupted manifest bytes as DIGEST_MISMATCH, by tag and by digest', async () => {
    fresh();
    proxy.setRules([{ path: '/manifests/', action: { kind: 'corrupt' } }]);
    const byTag = await failure(env.client.resolveManifest(parseRegistryReference(`${proxy.host}/busybox:latest`)));
    expect(byTag.code).toBe('DIGEST_MISMATCH');
    expect(byTag.message).toContain(`${proxy.host}/busybox:latest at ${proxy.host}`);
    const byDigest = await failure(env.client.resolveManifest(parseRegistryReference(`${proxy.host}/busybox@${images.busyboxAmd64}`)));
    expect(byDigest.code).toBe('DIGEST_MISMATCH');
    expect(byDigest.message).toContain(`not the requested ${images.busyboxAmd64}`);
  });

  it('resumes a blob with Range after the connection is reset mid-stream', async () => {
    fresh();
    const ref = parseRegistryReference(`${proxy.host}/busybox:latest`);
    const manifest = await env.client.getManifest(ref, images.busyboxAmd64);
    const layer = manifest.json.layers![0]!;
    proxy.setRules([{ path: `/blobs/${layer.digest}`, nth: 1, action: { kind: 'reset', afterBytes: 20_000 } }]);
    const first = await env.client.getBlob(ref, layer.digest, { expectedSize: layer.size });
    const received: Buffer[] = [];
    const broken = await failure((async () => {
      for await (const chunk of first.stream) received.push(chunk as Buffer);
    })());
    expect(['REGISTRY_UNREACHABLE', 'REGISTRY_TIMEOUT']).toContain(broken.code);
    const have = Buffer.concat(received);
    expect(have.length).toBeLessThan(layer.size);
    const rest = await env.client.getBlob(ref, layer.digest, { offset: have.length, expectedSize: layer.size });
    expect(rest.offset).toBe(have.length);
    expect(rest.size).toBe(layer.size);
    const all = Buffer.concat([have, ...((await rest.stream.toArray()) as Buffer[])]);
    expect(`sha256:${createHash('sha256').update(all).digest('hex')}`).toBe(layer.digest);
  });
});

describe('redirects', () => {
  it('follows a blob redirect to another host without sending Authorization there', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    // The "CDN": another host (127.0.0.2) that serves blob bytes and records the headers it got.
    const cdn = http.createServer((req, res) => {
      seen.push(req.headers);
      const digest = req.url!.split('/').pop()!.split('?')[0]!;
      const data = image.blobs.get(digest);
      res.statusCode = data === undefined ? 404 : 200;
      res.end(data);
    });
    await new Promise<void>((resolve) => cdn.listen(0, '127.0.0.2', resolve));
    const cdnHost = `127.0.0.2:${(cdn.address() as AddressInfo).port}`;
    // The front door: the registry itself, except that blob GETs are redirected to the CDN.
    const front = http.createServer((req, res) => {
      const blob = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(req.url!);
      if (blob && req.method === 'GET' && req.headers.authorization === auth) {
        res.writeHead(307, { location: `http://${cdnHost}/cdn/${blob[1]}?signature=x` });
        res.end();
        return;
      }
      const upstream = http.request({ host: '127.0.0.1', port: Number(registry.host.split(':')[1]), path: req.url, method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode!, up.headers);
        up.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    const frontHost = `127.0.0.1:${(front.address() as AddressInfo).port}`;
    const home = tempHome();
    const authed = await clientEnv({ REGISTRY_AUTH_FILE: basicAuthFile(home, frontHost, 'bob', 'builder') }, {}, home);
    try {
      const ref = parseRegistryReference(`${frontHost}/app:1`);
      expect((await authed.client.resolveManifest(ref)).descriptor.digest).toBe(image.digest);
      const config = await authed.client.getBlobJSON<{ os: string }>(ref, image.configDescriptor.digest);
      expect(config.os).toBe('linux');
      const layer = await authed.client.getBlob(ref, image.layers[0]!.digest);
      const bytes = Buffer.concat((await layer.stream.toArray()) as Buffer[]);
      expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(image.layers[0]!.digest);
      expect(seen).toHaveLength(2);
      for (const headers of seen) {
        expect(headers.authorization).toBeUndefined();
        expect(headers.host).toBe(cdnHost);
      }
    } finally {
      await authed.close();
      cdn.closeAllConnections();
      front.closeAllConnections();
      await new Promise((resolve) => cdn.close(resolve));
      await new Promise((resolve) => front.close(resolve));
    }
  });
});
