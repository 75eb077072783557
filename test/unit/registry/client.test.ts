// The registry client against a scripted local HTTP server: digests, errors, retries, auth,
// redirects and ranges. The real registry is exercised in test/e2e/registry.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeContext, silentReporter } from '../../../core/context.js';
import { EnvlockError } from '../../../core/errors.js';
import { createRegistryClient, type ClientOptions, type RegistryClient } from '../../../core/registry/client.js';
import { emptyRegistryConfig } from '../../../core/registry/config.js';
import { parseRegistryReference } from '../../../core/registry/reference.js';
import { startFakeServer, type FakeServer } from './fake-registry.js';

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const INDEX = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }));
const INDEX_TYPE = 'application/vnd.oci.image.index.v1+json';

let home: string;
let server: FakeServer;
let client: RegistryClient | undefined;

beforeEach(async () => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'envlock-client-'));
  server = await startFakeServer();
});
afterEach(async () => {
  await client?.close();
  client = undefined;
  await server.close();
  fs.rmSync(home, { recursive: true, force: true });
});

/** Which HTTP client the tests run over: undici, or the small one (client-slim.test.ts sets it). */
function registryHttp(): 'undici' | 'slim' {
  return (globalThis as { envlockTestRegistryHttp?: 'slim' }).envlockTestRegistryHttp ?? 'undici';
}

async function makeClient(env: Record<string, string> = {}, options: ClientOptions = {}, offline = false): Promise<RegistryClient> {
  const ctx = makeContext({ env: { HOME: home, ...env }, offline });
  client = await createRegistryClient(ctx, { config: emptyRegistryConfig(), retry: { attempts: 4, baseDelayMs: 10, maxDelayMs: 3000 }, http: registryHttp(), ...options });
  return client;
}

async function failure(promise: Promise<unknown>): Promise<EnvlockError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(EnvlockError);
  return error as EnvlockError;
}

function serveManifest(body: Buffer, digestHeader: string | null = sha(body), type = INDEX_TYPE): void {
  server.handle((req, res) => {
    res.setHeader('content-type', type);
    if (digestHeader !== null) res.setHeader('docker-content-digest', digestHeader);
    res.setHeader('content-length', body.length);
    res.end(req.method === 'HEAD' ? undefined : body);
  });
}

describe('resolveManifest', () => {
  it('resolves a tag with every manifest type in Accept and verifies the announced digest', async () => {
    serveManifest(INDEX);
    const c = await makeClient();
    const got = await c.resolveManifest(parseRegistryReference(`${server.host}/lib/busybox:1.36`));
    expect(got.descriptor).toEqual({ mediaType: INDEX_TYPE, digest: sha(INDEX), size: INDEX.length });
    expect(got.body.equals(INDEX)).toBe(true);
    expect(server.seen[0]!.url).toBe('/v2/lib/busybox/manifests/1.36');
    for (const t of ['index.v1', 'manifest.v1', 'manifest.list.v2', 'manifest.v2']) expect(server.seen[0]!.headers.accept).toContain(t);
  });

  it('reports DIGEST_MISMATCH when the body does not match Docker-Content-Digest', async () => {
    serveManifest(INDEX, sha('something else'));
    const c = await makeClient();
    const error = await failure(c.resolveManifest(parseRegistryReference(`${server.host}/a:t`)));
    expect(error.code).toBe('DIGEST_MISMATCH');
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain(`${server.host}/a:t at ${server.host}`);
    expect(error.message).toContain('Docker-Content-Digest');
  });

  it('reports DIGEST_MISMATCH when a by-digest fetch returns other bytes', async () => {
    serveManifest(INDEX, null);
    const c = await makeClient();
    const wanted = sha('the real one');
    const error = await failure(c.getManifest(parseRegistryReference(`${server.host}/a:t`), wanted));
    expect(error.code).toBe('DIGEST_MISMATCH');
    expect(error.message).toContain(`not the requested ${wanted}`);
    expect(server.seen[0]!.url).toBe(`/v2/a/manifests/${wanted}`);
  });

  it('refuses artifacts and schema 1 with MANIFEST_UNSUPPORTED', async () => {
    const artifact = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.cncf.helm.chart.v1+json' }));
    serveManifest(artifact, sha(artifact), 'application/vnd.cncf.helm.chart.v1+json');
    const c = await makeClient();
    const error = await failure(c.resolveManifest(parseRegistryReference(`${server.host}/chart:1`)));
    expect(error.code).toBe('MANIFEST_UNSUPPORTED');
    expect(error.message).toMatch(/neither an image index nor an image manifest/);
    const ambiguous = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [], layers: [], config: {} }));
    serveManifest(ambiguous, sha(ambiguous));
    expect((await failure(c.resolveManifest(parseRegistryReference(`${server.host}/x:1`)))).message).toMatch(/ambiguous/);
  });

  it('refuses a body whose mediaType disagrees with a manifest Content-Type', async () => {
    serveManifest(INDEX, sha(INDEX), 'application/vnd.oci.image.manifest.v1+json');
    const c = await makeClient();
    const error = await failure(c.resolveManifest(parseRegistryReference(`${server.host}/x:1`)));
    expect(error.code).toBe('REGISTRY_PROTOCOL');
    expect(error.message).toMatch(/says it is application\/vnd\.oci\.image\.index\.v1\+json, but was served as application\/vnd\.oci\.image\.manifest\.v1\+json/);
    serveManifest(INDEX, sha(INDEX), 'application/json; charset=utf-8');
    expect((await c.resolveManifest(parseRegistryReference(`${server.host}/x:1`))).descriptor.mediaType).toBe(INDEX_TYPE);
  });

  it('reports REGISTRY_PROTOCOL for a body that is not JSON', async () => {
    serveManifest(Buffer.from('<html>'), null);
    const c = await makeClient();
    expect((await failure(c.resolveManifest(parseRegistryReference(`${server.host}/x:1`)))).code).toBe('REGISTRY_PROTOCOL');
  });

  it('HEADs for the descriptor and falls back to GET without Docker-Content-Digest', async () => {
    serveManifest(INDEX);
    const c = await makeClient();
    const ref = parseRegistryReference(`${server.host}/x:1`);
    expect(await c.headManifest(ref)).toEqual({ mediaType: INDEX_TYPE, digest: sha(INDEX), size: INDEX.length });
    expect(server.seen.map((r) => r.method)).toEqual(['HEAD']);
    serveManifest(INDEX, null);
    expect((await c.headManifest(ref)).digest).toBe(sha(INDEX));
    expect(server.seen.map((r) => r.method)).toEqual(['HEAD', 'HEAD', 'GET']);
  });
});

describe('errors', () => {
  const cases: [number, string, RegExp][] = [
    [404, 'REGISTRY_NOT_FOUND', /^Tag `v9` not found in `team\/app` at `127\.0\.0\.1:\d+` \(MANIFEST_UNKNOWN: manifest unknown\)\.$/],
    [403, 'REGISTRY_DENIED', /denied access to the manifest of 127\.0\.0\.1:\d+\/team\/app:v9/],
    [401, 'REGISTRY_AUTH', /requires credentials to pull 127\.0\.0\.1:\d+\/team\/app:v9/],
    [418, 'REGISTRY_PROTOCOL', /answered HTTP 418/],
  ];
  it.each(cases)('maps HTTP %i to %s', async (status, code, message) => {
    server.handle((_req, res) => {
      res.statusCode = status;
      res.end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
    });
    const c = await makeClient();
    const error = await failure(c.resolveManifest(parseRegistryReference(`${server.host}/team/app:v9`)));
    expect(error.code).toBe(code);
    expect(error.exitCode).toBe(1);
    expect(error.message).toMatch(message);
    expect(error.hint).toBeTruthy();
    if (status === 401) expect(error.hint).toMatch(/podman login .*docker login/);
  });

  it('fails OFFLINE before any request', async () => {
    const c = await makeClient({}, {}, true);
    const error = await failure(c.resolveManifest(parseRegistryReference(`${server.host}/x:1`)));
    expect(error.code).toBe('OFFLINE');
    expect(server.seen).toHaveLength(0);
  });

  it('reports REGISTRY_UNREACHABLE for a closed port', async () => {
    const host = server.host;
    await server.close();
    server = await startFakeServer();
    const c = await makeClient();
    const error = await failure(c.resolveManifest(parseRegistryReference(`${host}/x:1`)));
    expect(error.code).toBe('REGISTRY_UNREACHABLE');
    expect(error.message).toBe(`The registry ${host} for ${host}/x:1 could not be reached (ECONNREFUSED).`);
  });

  it('reports a name that does not resolve as REGISTRY_UNREACHABLE', async () => {
    const lookup = ((_host: string, _options: unknown, callback: (error: NodeJS.ErrnoException) => void) => {
      const error: NodeJS.ErrnoException = new Error('getaddrinfo ENOTFOUND nowhere.test');
      error.code = 'ENOTFOUND';
      callback(error);
    }) as unknown as import('node:net').LookupFunction;
    const c = await makeClient({}, { lookup });
    const error = await failure(c.resolveManifest(parseRegistryReference('nowhere.test:5000/x:1')));
    expect(error.code).toBe('REGISTRY_UNREACHABLE');
    expect(error.message).toBe('The registry nowhere.test:5000 for nowhere.test:5000/x:1 could not be reached (ENOTFOUND).');
  });

  it('says what it waits for, then stops with REGISTRY_TIMEOUT instead of waiting for a silent registry again', async () => {
    server.handle(() => {});
    const said: string[] = [];
    const ctx = makeContext({ env: { HOME: home, ENVLOCK_READ_TIMEOUT: '0.4' }, reporter: { ...silentReporter, info: (m: string) => said.push(m) } });
    client = await createRegistryClient(ctx, { config: emptyRegistryConfig(), retry: { attempts: 5, baseDelayMs: 1, maxDelayMs: 10 } });
    const error = await failure(client.resolveManifest(parseRegistryReference(`${server.host}/x:1`)));
    expect(error.code).toBe('REGISTRY_TIMEOUT');
    expect(server.seen).toHaveLength(1);
    expect(said).toEqual([`Waiting for ${server.host} to answer (the manifest of ${server.host}/x:1); envlock gives up after 0.4 s without an answer.`]);
  });

  it('refuses a timeout that is not a number of seconds (CONFIG_INVALID)', async () => {
    const ctx = makeContext({ env: { HOME: home, ENVLOCK_CONNECT_TIMEOUT: 'soon' } });
    const error = await failure(createRegistryClient(ctx, { config: emptyRegistryConfig() }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toBe('ENVLOCK_CONNECT_TIMEOUT="soon" is not a number of seconds.');
  });
});

describe('warnings', () => {
  it('passes registry Warning headers to the reporter once each', async () => {
    server.handle((_req, res) => {
      res.setHeader('content-type', INDEX_TYPE);
      res.setHeader('warning', '299 - "this repository is deprecated, use \\"new/app\\""');
      res.end(INDEX);
    });
    const warnings: string[] = [];
    const ctx = makeContext({ env: { HOME: home }, reporter: { ...silentReporter, warn: (m: string) => warnings.push(m) } });
    client = await createRegistryClient(ctx, { config: emptyRegistryConfig() });
    const ref = parseRegistryReference(`${server.host}/x:1`);
    await client.resolveManifest(ref);
    await client.resolveManifest(ref);
    expect(warnings).toEqual([`${server.host}: this repository is deprecated, use "new/app"`]);
  });
});

describe('abort', () => {
  it('reports INTERRUPTED when the signal aborts, even while waiting to retry', async () => {
    server.handle((_req, res) => {
      res.statusCode = 503;
      res.setHeader('retry-after', '60');
      res.end();
    });
    const c = await makeClient({}, { retry: { attempts: 5, baseDelayMs: 10, maxDelayMs: 60_000 } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const error = await failure(c.resolveManifest(parseRegistryReference(`${server.host}/x:1`), controller.signal));
    expect(error.code).toBe('INTERRUPTED');
    expect(error.message).toBe(`Fetching the manifest of ${server.host}/x:1 from ${server.host} was interrupted.`);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('retries', () => {
  it('honours Retry-After on 429, then succeeds', async () => {
    let calls = 0;
    server.handle((req, res) => {
      if (calls++ === 0) {
        res.statusCode = 429;
        res.setHeader('retry-after', '1');
        res.end();
        return;
      }
      res.setHeader('content-type', INDEX_TYPE);
      res.end(INDEX);
    });
    const c = await makeClient();
    const started = Date.now();
    const got = await c.resolveManifest(parseRegistryReference(`${server.host}/x:1`));
    expect(got.descriptor.digest).toBe(sha(INDEX));
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(calls).toBe(2);
  });

  it('gives up with REGISTRY_RATE_LIMITED after the bounded number of attempts', async () => {
    server.handle((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    const c = await makeClient();
    const error = await failure(c.resolveManifest(parseRegistryReference(`${server.host}/x:1`)));
    expect(error.code).toBe('REGISTRY_RATE_LIMITED');
    expect(error.message).toMatch(/kept answering HTTP 503/);
    expect(server.seen).toHaveLength(4);
  });
});

describe('auth', () => {
  it('answers a Bearer challenge and reuses the token', async () => {
    let tokens = 0;
    server.handle((req, res) => {
      if (req.url!.startsWith('/token')) {
        tokens++;
        const q = new URL(req.url!, 'http://x').searchParams;
        expect(q.get('service')).toBe('svc');
        expect(q.getAll('scope')).toEqual(['repository:team/app:pull']);
        expect(req.headers.authorization).toBeUndefined();
        res.end(JSON.stringify({ access_token: 'tok-1', expires_in: 300 }));
        return;
      }
      if (req.headers.authorization !== 'Bearer tok-1') {
        res.statusCode = 401;
        res.setHeader('www-authenticate', `Bearer realm="http://${server.host}/token",service="svc",scope="repository:team/app:pull"`);
        res.end();
        return;
      }
      res.setHeader('content-type', INDEX_TYPE);
      res.end(INDEX);
    });
    const c = await makeClient();
    const ref = parseRegistryReference(`${server.host}/team/app:1`);
    await c.resolveManifest(ref);
    await c.resolveManifest(ref);
    await c.headManifest(ref);
    expect(tokens).toBe(1);
    expect(c.auth.tokenRequests).toBe(1);
  });

  it('shares one token request among parallel requests', async () => {
    let tokens = 0;
    server.handle((req, res) => {
      if (req.url!.startsWith('/token')) {
        tokens++;
        setTimeout(() => res.end(JSON.stringify({ token: 'tok-2' })), 50);
        return;
      }
      if (req.headers.authorization !== 'Bearer tok-2') {
        res.statusCode = 401;
        res.setHeader('www-authenticate', `Bearer realm="http://${server.host}/token",service="svc"`);
        res.end();
        return;
      }
      res.setHeader('content-type', INDEX_TYPE);
      res.end(INDEX);
    });
    const c = await makeClient();
    const ref = parseRegistryReference(`${server.host}/team/app:1`);
    await Promise.all([1, 2, 3, 4].map(() => c.resolveManifest(ref)));
    expect(tokens).toBe(1);
  });

  it('sends Basic credentials from the auth file, and says whose were rejected', async () => {
    const file = path.join(home, 'auth.json');
    fs.writeFileSync(file, JSON.stringify({ auths: { [server.host]: { auth: Buffer.from('u:wrong').toString('base64') } } }));
    server.handle((req, res) => {
      res.statusCode = 401;
      res.setHeader('www-authenticate', 'Basic realm="r"');
      res.end();
    });
    const c = await makeClient({ REGISTRY_AUTH_FILE: file });
    const error = await failure(c.resolveManifest(parseRegistryReference(`${server.host}/x:1`)));
    expect(error.code).toBe('REGISTRY_AUTH');
    expect(error.message).toContain(`rejected the credentials from ${file}`);
    expect(server.seen[1]!.headers.authorization).toBe(`Basic ${Buffer.from('u:wrong').toString('base64')}`);
  });

  it('refuses a token realm on an internal address for a public registry', async () => {
    const { Authenticator } = await import('../../../core/registry/auth.js');
    const auth = new Authenticator({ env: {}, home }, async () => ({ status: 200, body: Buffer.from('{"token":"t"}') }));
    const target = { host: 'reg.example', scheme: 'https' as const, repository: 'a', reference: 'reg.example/a:1' };
    const error = await failure(auth.onUnauthorized(target, 'Bearer realm="https://169.254.169.254/latest"', undefined, new AbortController().signal));
    expect(error.code).toBe('REGISTRY_PROTOCOL');
    expect(error.message).toMatch(/token realm https:\/\/169\.254\.169\.254 is not allowed/);
    const plain = await failure(auth.onUnauthorized(target, 'Bearer realm="http://auth.example/token"', undefined, new AbortController().signal));
    expect(plain.message).toMatch(/not allowed/);
  });
});

describe('blobs', () => {
  const BLOB = Buffer.from('0123456789abcdefghij');

  it('resumes with Range when the server honours it, and reports offset 0 when it does not', async () => {
    let honour = true;
    server.handle((req, res) => {
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (m && honour) {
        const start = Number(m[1]);
        res.statusCode = 206;
        res.setHeader('content-range', `bytes ${start}-${BLOB.length - 1}/${BLOB.length}`);
        res.end(BLOB.subarray(start));
        return;
      }
      res.end(BLOB);
    });
    const c = await makeClient();
    const ref = parseRegistryReference(`${server.host}/x:1`);
    const resumed = await c.getBlob(ref, sha(BLOB), { offset: 5 });
    expect(resumed.offset).toBe(5);
    expect(resumed.size).toBe(BLOB.length);
    expect(Buffer.concat(await resumed.stream.toArray()).toString()).toBe('56789abcdefghij');
    honour = false;
    const whole = await c.getBlob(ref, sha(BLOB), { offset: 5 });
    expect(whole.offset).toBe(0);
    expect(Buffer.concat(await whole.stream.toArray()).equals(BLOB)).toBe(true);
  });

  it('stops a stream that is longer than the descriptor says with SIZE_MISMATCH', async () => {
    server.handle((_req, res) => res.end(BLOB));
    const c = await makeClient();
    const blob = await c.getBlob(parseRegistryReference(`${server.host}/x:1`), sha(BLOB), { expectedSize: 10 });
    const error = await failure(blob.stream.toArray());
    expect(error.code).toBe('SIZE_MISMATCH');
  });

  it('follows a redirect to another origin without Authorization, and verifies JSON blobs', async () => {
    const cdn = await startFakeServer();
    const config = Buffer.from('{"architecture":"amd64"}');
    cdn.handle((_req, res) => res.end(config));
    const file = path.join(home, 'auth.json');
    fs.writeFileSync(file, JSON.stringify({ auths: { [server.host]: { auth: Buffer.from('u:p').toString('base64') } } }));
    server.handle((req, res) => {
      if (req.headers.authorization === undefined) {
        res.statusCode = 401;
        res.setHeader('www-authenticate', 'Basic realm="r"');
        res.end();
        return;
      }
      res.statusCode = 307;
      res.setHeader('location', `http://${cdn.host}/signed/blob?sig=1`);
      res.end();
    });
    try {
      const c = await makeClient({ REGISTRY_AUTH_FILE: file });
      const ref = parseRegistryReference(`${server.host}/x:1`);
      expect(await c.getBlobJSON(ref, sha(config))).toEqual({ architecture: 'amd64' });
      expect(cdn.seen).toHaveLength(1);
      expect(cdn.seen[0]!.url).toBe('/signed/blob?sig=1');
      expect(cdn.seen[0]!.headers.authorization).toBeUndefined();
      const wrong = await failure(c.getBlobJSON(ref, sha('other')));
      expect(wrong.code).toBe('DIGEST_MISMATCH');
    } finally {
      await cdn.close();
    }
  });
});
