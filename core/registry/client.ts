// The registry client: resolves references to verified manifests and opens blobs, over one pooled
// undici Agent, trying configured mirrors before the primary (distribution-spec "Pull").

import type { LookupFunction } from 'node:net';
import { Transform, type Readable } from 'node:stream';
import type { Context } from '../context.js';
import { EnvlockError, isEnvlockError } from '../errors.js';
import { assertDigest, isDigest } from '../oci/digest.js';
import { MANIFEST_ACCEPT } from '../oci/media-types.js';
import { Authenticator } from './auth.js';
import { loadRegistryConfig, type RegistryConfig } from './config.js';
import { credentialFilesText } from './credentials.js';
import { endpointsFor, type Endpoint } from './endpoints.js';
import { transportFailure, type Subject } from './failures.js';
import { checkManifest, MAX_MANIFEST_BYTES, verifyBlob, type ManifestDescriptor, type ResolvedManifest } from './manifest-check.js';
import { withDigest, type RegistryReference } from './reference.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import { DEFAULT_TIMEOUTS, timeoutsFrom } from './timeouts.js';
import type { Dispatcher } from './slim-http.js';
import { readAll, Transport, type TransportResponse, type WaitNotice } from './transport.js';
import { quoted } from '../shown.js';

export interface ClientOptions {
  config?: RegistryConfig;
  retry?: Partial<RetryPolicy>;
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  /** Longest pause between two body chunks. */
  bodyIdleTimeoutMs?: number;
  /** Connections per origin. */
  connections?: number;
  /** Host name lookup override (like curl --resolve); tests map names to 127.0.0.1 with it. */
  lookup?: LookupFunction;
  /**
   * The HTTP client: undici (the default, for blob downloads) or the small node:http one
   * (slim-http.ts) for commands that fetch only metadata and should not pay for loading undici.
   */
  http?: 'undici' | 'slim';
}

export interface BlobResponse {
  stream: Readable;
  /** The Range start the server honoured; 0 when it ignored Range and sent the whole blob. */
  offset: number;
  /** Total blob size, when the server said. */
  size?: number;
}

export interface GetBlobOptions {
  offset?: number;
  signal?: AbortSignal;
  /** The descriptor's size: the stream fails as soon as it delivers more. */
  expectedSize?: number;
}

type Attempt<T> = (endpoint: Endpoint) => Promise<T>;

export class RegistryClient {
  readonly auth: Authenticator;
  private readonly transport: Transport;

  constructor(
    private readonly ctx: Context,
    private readonly agent: Dispatcher,
    readonly config: RegistryConfig,
    retry: RetryPolicy,
    waiting: WaitNotice = { noticeMs: DEFAULT_TIMEOUTS.noticeMs, headersMs: DEFAULT_TIMEOUTS.headersMs },
  ) {
    this.auth = new Authenticator(ctx, async (url, init) => {
      try {
        const response = await agent.request({ origin: url.origin, path: url.pathname + url.search, method: init.method, headers: { 'user-agent': 'envlock', ...init.headers }, body: init.body, signal: init.signal });
        return { status: response.statusCode, body: await readAll(response.body) };
      } catch (error) {
        throw transportFailure(error, { reference: url.origin, registry: url.host, what: 'a token', notFound: '' }, init.signal);
      }
    });
    this.transport = new Transport(agent, this.auth, retry, credentialFilesText(ctx), (message) => ctx.reporter.warn(message), {
      ...waiting,
      notice: (message) => ctx.reporter.info(message),
    });
  }

  private signal(extra?: AbortSignal): AbortSignal {
    return extra === undefined ? this.ctx.signal : AbortSignal.any([this.ctx.signal, extra]);
  }

  /** Runs an attempt against each endpoint (mirrors first); the primary's failure is the one reported. */
  private async withEndpoints<T>(ref: RegistryReference, byDigest: boolean, attempt: Attempt<T>): Promise<T> {
    if (this.ctx.offline) {
      throw new EnvlockError('OFFLINE', `Fetching ${ref.canonical()} needs the network, but envlock is offline.`, {
        hint: 'Run without --offline, or pull the image while online.',
      });
    }
    const endpoints = endpointsFor(this.config, ref, byDigest);
    let failure: unknown;
    for (const endpoint of endpoints) {
      try {
        return await attempt(endpoint);
      } catch (error) {
        if (isEnvlockError(error) && error.code === 'INTERRUPTED') throw error;
        if (!endpoint.mirror) throw error;
        failure = error;
        this.ctx.reporter.debug(`mirror ${endpoint.host} failed for ${ref.canonical()}: ${(error as Error).message}`);
      }
    }
    throw failure;
  }

  private subject(ref: RegistryReference, endpoint: Endpoint, what: string, notFound: string): Subject {
    return { reference: ref.canonical(), registry: endpoint.host, what, notFound };
  }

  private manifestSubject(ref: RegistryReference, endpoint: Endpoint, id: string): Subject {
    const notFound = isDigest(id)
      ? `Manifest ${id} not found in ${quoted(endpoint.repository)} at ${quoted(endpoint.host)}`
      : `Tag ${quoted(id)} not found in ${quoted(endpoint.repository)} at ${quoted(endpoint.host)}`;
    return this.subject(ref, endpoint, 'the manifest', notFound);
  }

  private manifestId(ref: RegistryReference): string {
    return ref.digest ?? ref.tag ?? 'latest';
  }

  /** GETs the manifest or index a reference names, verified against the requested or announced digest. */
  async resolveManifest(ref: RegistryReference, signal?: AbortSignal): Promise<ResolvedManifest> {
    const id = this.manifestId(ref);
    return this.withEndpoints(ref, ref.digest !== undefined, async (endpoint) => {
      const subject = this.manifestSubject(ref, endpoint, id);
      const response = await this.transport.send({
        endpoint, subject, method: 'GET', path: `/v2/${endpoint.repository}/manifests/${id}`,
        headers: { accept: MANIFEST_ACCEPT }, signal: this.signal(signal),
      });
      const body = await this.readBody(response, subject);
      const announced = response.headers['docker-content-digest'];
      const where = `${ref.canonical()} at ${endpoint.host}`;
      if (ref.digest !== undefined) return checkManifest({ body, expected: ref.digest, requested: true, contentType: response.headers['content-type'], where });
      const expected = announced !== undefined && isDigest(announced.trim()) ? announced.trim() : undefined;
      return checkManifest({ body, expected, requested: false, contentType: response.headers['content-type'], where });
    });
  }

  /** HEADs a reference for its descriptor (no pull counted on Docker Hub); falls back to GET. */
  async headManifest(ref: RegistryReference, signal?: AbortSignal): Promise<ManifestDescriptor> {
    const id = this.manifestId(ref);
    const headed = await this.withEndpoints(ref, ref.digest !== undefined, async (endpoint) => {
      const subject = this.manifestSubject(ref, endpoint, id);
      const response = await this.transport.send({
        endpoint, subject, method: 'HEAD', path: `/v2/${endpoint.repository}/manifests/${id}`,
        headers: { accept: MANIFEST_ACCEPT }, signal: this.signal(signal),
      });
      response.body.resume();
      const digest = response.headers['docker-content-digest']?.trim();
      const size = Number(response.headers['content-length']);
      const mediaType = response.headers['content-type']?.split(';')[0]?.trim();
      if (digest === undefined || !isDigest(digest) || !Number.isSafeInteger(size) || mediaType === undefined) return undefined;
      if (ref.digest !== undefined && digest !== ref.digest) return undefined;
      return { mediaType, digest, size };
    });
    return headed ?? (await this.resolveManifest(ref, signal)).descriptor;
  }

  /** The manifest with this digest in the reference's repository, verified. */
  getManifest(ref: RegistryReference, digest: string, signal?: AbortSignal): Promise<ResolvedManifest> {
    assertDigest(digest, `a manifest of ${ref.canonical()}`);
    return this.resolveManifest(withDigest(ref, digest), signal);
  }

  /** Opens a blob stream, resuming at `offset` when the registry honours Range. */
  async getBlob(ref: RegistryReference, digest: string, options: GetBlobOptions = {}): Promise<BlobResponse> {
    assertDigest(digest, `a blob of ${ref.canonical()}`);
    const offset = options.offset ?? 0;
    return this.withEndpoints(ref, true, async (endpoint) => {
      const subject = this.subject(ref, endpoint, `blob ${digest}`, `Blob ${digest} not found in ${quoted(endpoint.repository)} at ${quoted(endpoint.host)}`);
      const signal = this.signal(options.signal);
      const response = await this.transport.send({
        endpoint, subject, method: 'GET', path: `/v2/${endpoint.repository}/blobs/${digest}`,
        headers: offset > 0 ? { range: `bytes=${offset}-` } : {}, signal,
      });
      // Only a 206 whose Content-Range starts where we asked is a resume (containerd withOffsetCheck).
      const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers['content-range'] ?? '');
      const honoured = response.status === 206 && range !== null && Number(range[1]) === offset ? offset : 0;
      if (response.status === 206 && honoured === 0) {
        response.body.destroy();
        throw new EnvlockError('REGISTRY_PROTOCOL', `The registry ${endpoint.host} answered a range request for blob ${digest} of ${ref.canonical()} with the wrong range.`, {
          hint: 'Remove the partial download and try again.',
        });
      }
      const length = Number(response.headers['content-length']);
      const size = range !== null && range[3] !== '*' ? Number(range[3]) : Number.isSafeInteger(length) ? honoured + length : undefined;
      const stream = guardStream(response.body, subject, signal, options.expectedSize === undefined ? undefined : options.expectedSize - honoured);
      const result: BlobResponse = { stream, offset: honoured };
      if (size !== undefined) result.size = size;
      return result;
    });
  }

  /** Reads a small blob (an image config) completely, verifies it and parses it as JSON. */
  async getBlobJSON<T = unknown>(ref: RegistryReference, digest: string, signal?: AbortSignal, maxBytes = MAX_MANIFEST_BYTES): Promise<T> {
    const blob = await this.getBlob(ref, digest, { signal, expectedSize: maxBytes });
    const subject = { reference: ref.canonical(), registry: ref.registry, what: `blob ${digest}`, notFound: '' };
    let body: Buffer;
    try {
      body = await readAll(blob.stream, maxBytes + 1);
    } catch (error) {
      throw transportFailure(error, subject, signal);
    }
    verifyBlob(body, digest, ref.canonical());
    try {
      return JSON.parse(body.toString('utf8')) as T;
    } catch (error) {
      throw new EnvlockError('REGISTRY_PROTOCOL', `The blob ${digest} of ${ref.canonical()} is not valid JSON.`, {
        hint: 'Check that the reference names a container image.',
        cause: error,
      });
    }
  }

  private async readBody(response: TransportResponse, subject: Subject): Promise<Buffer> {
    try {
      return await readAll(response.body, MAX_MANIFEST_BYTES + 1);
    } catch (error) {
      throw transportFailure(error, subject);
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** Maps stream errors to EnvlockErrors and stops a server that sends more than it should. */
function guardStream(body: Readable, subject: Subject, signal: AbortSignal, limit: number | undefined): Readable {
  let seen = 0;
  const guard = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (limit !== undefined && seen > limit) {
        callback(new EnvlockError('SIZE_MISMATCH', `The registry ${subject.registry} sent more than the ${limit} bytes expected for ${subject.what} of ${subject.reference}.`, {
          hint: 'The registry or a proxy altered the content; try again, or use another mirror.',
        }));
        return;
      }
      callback(null, chunk);
    },
  });
  body.on('error', (error) => guard.destroy(transportFailure(error, subject, signal)));
  // A body that fails before its reader starts (an empty, cut answer) must not crash the process
  // with an unhandled 'error': the reader still gets the error from the destroyed stream.
  guard.on('error', () => {});
  guard.on('close', () => {
    if (!body.destroyed) body.destroy();
  });
  body.pipe(guard);
  return guard;
}

/** Creates a client with one pooled HTTP client; undici is imported here, not at start-up. */
export async function createRegistryClient(ctx: Context, options: ClientOptions = {}): Promise<RegistryClient> {
  const limits = timeoutsFrom(ctx.env);
  const headersMs = options.headersTimeoutMs ?? limits.headersMs;
  const connections = options.connections ?? 8;
  const connectMs = options.connectTimeoutMs ?? limits.connectMs;
  const bodyIdleMs = options.bodyIdleTimeoutMs ?? limits.bodyIdleMs;
  let agent: Dispatcher;
  if (options.http === 'slim') {
    const { SlimHttp } = await import('./slim-http.js');
    agent = new SlimHttp({ connections, connectTimeoutMs: connectMs, headersTimeoutMs: headersMs, bodyIdleTimeoutMs: bodyIdleMs, keepAliveMs: 10_000, ...(options.lookup === undefined ? {} : { lookup: options.lookup }) });
  } else {
    const { Agent } = await import('undici');
    agent = new Agent({
      connections,
      keepAliveTimeout: 10_000,
      connect: { timeout: connectMs, ...(options.lookup === undefined ? {} : { lookup: options.lookup }) },
      headersTimeout: headersMs,
      bodyTimeout: bodyIdleMs,
    });
  }
  const config = options.config ?? (await loadRegistryConfig(ctx));
  return new RegistryClient(ctx, agent, config, { ...DEFAULT_RETRY, ...options.retry }, { noticeMs: Math.min(limits.noticeMs, Math.floor(headersMs / 2)), headersMs });
}
