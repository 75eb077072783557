// A small HTTP/1.1 client for registry metadata (manifests, configs, tokens): the one call the
// transport and the token fetch make (`request`), over node:http/https with keep-alive
// connections per origin. `envlock lock` uses it instead of undici, whose loading alone costs
// more than Node's start-up; pulls keep undici for the blobs. Failures carry the codes undici
// uses (UND_ERR_*_TIMEOUT) so failures.ts names them the same way.

import type { Agent as HttpAgent, ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';

export interface DispatchRequest {
  origin: string;
  path: string;
  method: 'GET' | 'HEAD' | 'POST';
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

export interface DispatchResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

/** What the registry client needs of an HTTP client: undici's Agent, or SlimHttp. */
export interface Dispatcher {
  request(request: DispatchRequest): Promise<DispatchResponse>;
  close(): Promise<void>;
}

export interface SlimHttpOptions {
  /** Connections per origin. */
  connections: number;
  connectTimeoutMs: number;
  /** From sending the request to the response's headers. */
  headersTimeoutMs: number;
  /** Longest pause between two body chunks. */
  bodyIdleTimeoutMs: number;
  keepAliveMs: number;
  lookup?: LookupFunction;
}

function codedError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

interface Scheme {
  agent: HttpAgent;
  send: (options: RequestOptions) => ClientRequest;
}

export class SlimHttp implements Dispatcher {
  private readonly schemes = new Map<string, Promise<Scheme>>();

  constructor(private readonly options: SlimHttpOptions) {}

  /**
   * One keep-alive agent per scheme, made at the first request; node:https (and TLS) loads only
   * for an https origin. Later requests reuse it without another import().
   */
  private agentFor(protocol: string): Promise<Scheme> {
    let scheme = this.schemes.get(protocol);
    if (scheme === undefined) {
      scheme = (protocol === 'https:' ? import('node:https') : import('node:http')).then((module) => {
        const agent = new module.Agent({ keepAlive: true, keepAliveMsecs: this.options.keepAliveMs, maxSockets: this.options.connections, timeout: this.options.keepAliveMs, scheduling: 'lifo' });
        return { agent, send: (options: RequestOptions) => module.request(options) };
      });
      this.schemes.set(protocol, scheme);
    }
    return scheme;
  }

  async request(init: DispatchRequest): Promise<DispatchResponse> {
    const url = new URL(init.path, init.origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw codedError('ERR_INVALID_URL', `Not an HTTP URL: ${url.href}`);
    const { agent, send } = await this.agentFor(url.protocol);
    init.signal?.throwIfAborted();
    const headers: Record<string, string> = { ...init.headers };
    if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
    const options: RequestOptions = {
      agent,
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port === '' ? undefined : Number(url.port),
      path: url.pathname + url.search,
      method: init.method,
      headers,
      ...(this.options.lookup === undefined ? {} : { lookup: this.options.lookup }),
    };
    return new Promise<DispatchResponse>((resolve, reject) => {
      const req = send(options);
      let settled = false;
      const fail = (error: Error): void => {
        if (!settled) {
          settled = true;
          reject(error);
        }
        req.destroy(error);
      };
      const onAbort = (): void => fail(Object.assign(new Error('The request was aborted.'), { name: 'AbortError', code: 'ABORT_ERR' }));
      init.signal?.addEventListener('abort', onAbort, { once: true });
      // Connecting, then waiting for the headers, each bounded; a reused socket is already connected.
      let timer = setTimeout(() => fail(codedError('UND_ERR_HEADERS_TIMEOUT', 'Headers timeout')), this.options.headersTimeoutMs);
      req.once('socket', (socket) => {
        if (!socket.connecting) return;
        const connectTimer = setTimeout(() => fail(codedError('UND_ERR_CONNECT_TIMEOUT', 'Connect timeout')), this.options.connectTimeoutMs);
        socket.once('connect', () => clearTimeout(connectTimer));
        socket.once('close', () => clearTimeout(connectTimer));
      });
      req.on('error', (error) => {
        clearTimeout(timer);
        init.signal?.removeEventListener('abort', onAbort);
        fail(error);
      });
      req.once('response', (res: IncomingMessage) => {
        clearTimeout(timer);
        settled = true;
        // Between body chunks, the idle limit; the signal still aborts the body.
        const idle = (): void => {
          clearTimeout(timer);
          timer = setTimeout(() => res.destroy(codedError('UND_ERR_BODY_TIMEOUT', 'Body timeout')), this.options.bodyIdleTimeoutMs);
        };
        idle();
        res.on('data', idle);
        // 'data' listeners switch the stream to flowing; it must stay paused until its reader reads.
        res.pause();
        res.once('close', () => {
          clearTimeout(timer);
          init.signal?.removeEventListener('abort', onAbort);
        });
        const abortBody = (): void => {
          res.destroy(Object.assign(new Error('The request was aborted.'), { name: 'AbortError', code: 'ABORT_ERR' }));
        };
        init.signal?.removeEventListener('abort', onAbort);
        init.signal?.addEventListener('abort', abortBody, { once: true });
        res.once('close', () => init.signal?.removeEventListener('abort', abortBody));
        resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: res });
      });
      req.end(init.body);
    });
  }

  async close(): Promise<void> {
    const schemes = [...this.schemes.values()];
    this.schemes.clear();
    for (const scheme of await Promise.all(schemes)) scheme.agent.destroy();
  }
}
