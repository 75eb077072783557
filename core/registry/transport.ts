// One registry request with everything around it: auth challenges, bounded retries with back-off,
// manual redirects that never carry Authorization to another origin (distribution-spec "API":
// "MUST NOT forward Authorization headers across host boundaries"), and error mapping.

import type { Readable } from 'node:stream';
import { EnvlockError } from '../errors.js';
import type { Authenticator, AuthTarget } from './auth.js';
import type { Endpoint } from './endpoints.js';
import { registryErrorDetail, statusFailure, transportFailure, failureCode, type Subject } from './failures.js';
import { originOf } from './hosts.js';
import type { Dispatcher } from './slim-http.js';
import { RETRY_ERRNOS, RETRY_STATUSES, retryDelay, sleep, type RetryPolicy } from './retry.js';

export interface TransportResponse {
  status: number;
  headers: Record<string, string | undefined>;
  body: Readable;
  url: URL;
}

export interface SendInit {
  endpoint: Endpoint;
  subject: Subject;
  method: 'GET' | 'HEAD';
  /** Path below the origin, e.g. /v2/repo/manifests/tag. */
  path: string;
  headers?: Record<string, string>;
  signal: AbortSignal;
}

const MAX_REDIRECTS = 5;

/** When a request's answer is slow to come: say so after noticeMs (the limit is headersMs). */
export interface WaitNotice {
  noticeMs: number;
  headersMs: number;
  notice?: (message: string) => void;
}

export function flattenHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(raw)) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

export async function readAll(body: Readable, limit = 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    length += (chunk as Buffer).length;
    if (length > limit) {
      body.destroy();
      break;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function drain(body: Readable): void {
  body.on('error', () => {});
  body.resume();
}

/** The texts of `Warning: 299 - "text"` headers (distribution-spec "Warnings"). */
export function parseWarnings(header: string | undefined): string[] {
  if (header === undefined) return [];
  const found: string[] = [];
  const pattern = /299\s+\S+\s+"((?:[^"\\]|\\.)*)"/g;
  for (let match = pattern.exec(header); match !== null; match = pattern.exec(header)) found.push(match[1]!.replace(/\\(.)/g, '$1'));
  return found;
}

export class Transport {
  private readonly warned = new Set<string>();
  private readonly noticed = new Map<string, number>();

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly auth: Authenticator,
    private readonly retry: RetryPolicy,
    private readonly credentialFiles: string,
    private readonly warn: (message: string) => void = () => {},
    private readonly waiting: WaitNotice = { noticeMs: 3_000, headersMs: 30_000 },
  ) {}

  /** Awaits an answer; tells the user after a few seconds which host it is waiting for, and why. */
  private async answered<T>(pending: Promise<T>, init: SendInit): Promise<T> {
    const notice = this.waiting.notice;
    if (notice === undefined) return pending;
    const timer = setTimeout(() => {
      // Parallel requests to one silent host make one message, not one each.
      const last = this.noticed.get(init.endpoint.host) ?? -Infinity;
      if (Date.now() - last < 10_000) return;
      this.noticed.set(init.endpoint.host, Date.now());
      notice(`Waiting for ${init.endpoint.host} to answer (${init.subject.what} of ${init.subject.reference}); envlock gives up after ${Number((this.waiting.headersMs / 1000).toFixed(1))} s without an answer.`);
    }, this.waiting.noticeMs);
    timer.unref();
    try {
      return await pending;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Shows each registry warning once per command; no action is taken on them. */
  private relayWarnings(response: TransportResponse, registry: string): void {
    for (const text of parseWarnings(response.headers.warning)) {
      const key = `${registry}\n${text}`;
      if (this.warned.has(key)) continue;
      this.warned.add(key);
      this.warn(`${registry}: ${text}`);
    }
  }

  /** Follows redirects by hand; Authorization goes only to the endpoint's own origin. */
  private async exchange(init: SendInit, authorization: string | undefined, signal: AbortSignal): Promise<TransportResponse> {
    const origin = originOf(init.endpoint.host, init.endpoint.scheme);
    let url = new URL(init.path, origin);
    let method: 'GET' | 'HEAD' = init.method;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'user-agent': 'envlock', ...init.headers };
      if (authorization !== undefined && url.origin === new URL(origin).origin) headers.authorization = authorization;
      const response = await this.answered(this.dispatcher.request({ origin: url.origin, path: url.pathname + url.search, method, headers, signal }), init);
      const flat = flattenHeaders(response.headers);
      const location = flat.location;
      if ([301, 302, 303, 307, 308].includes(response.statusCode) && location !== undefined) {
        drain(response.body);
        if (hop >= MAX_REDIRECTS) {
          throw new EnvlockError('REGISTRY_PROTOCOL', `The registry ${init.subject.registry} redirected more than ${MAX_REDIRECTS} times for ${init.subject.what} of ${init.subject.reference}.`, {
            hint: 'Report the redirect loop to the registry operator.',
          });
        }
        url = new URL(location, url);
        if (url.protocol !== 'http:' && url.protocol !== 'https:') {
          throw new EnvlockError('REGISTRY_PROTOCOL', `The registry ${init.subject.registry} redirected to a ${url.protocol} URL for ${init.subject.reference}.`, {
            hint: 'Report this to the registry operator.',
          });
        }
        if (response.statusCode === 303 && method !== 'HEAD') method = 'GET';
        continue;
      }
      return { status: response.statusCode, headers: flat, body: response.body, url };
    }
  }

  /** Sends the request; resolves with a 2xx response (body unread) or throws an EnvlockError. */
  async send(init: SendInit): Promise<TransportResponse> {
    const target: AuthTarget = { host: init.endpoint.host, scheme: init.endpoint.scheme, repository: init.endpoint.repository, reference: init.subject.reference };
    let authorization: string | undefined;
    let challenged = false;
    for (let attempt = 0; ; attempt++) {
      const last = attempt + 1 >= this.retry.attempts;
      let response: TransportResponse;
      try {
        if (!challenged) authorization = await this.auth.header(target, init.signal);
        response = await this.exchange(init, authorization, init.signal);
      } catch (error) {
        if (error instanceof EnvlockError) throw error;
        const code = failureCode(error);
        if (!init.signal.aborted && code !== undefined && RETRY_ERRNOS.has(code) && !last) {
          await this.wait(attempt, undefined, init);
          continue;
        }
        throw transportFailure(error, init.subject, init.signal);
      }
      this.relayWarnings(response, init.endpoint.host);
      const sameOrigin = response.url.origin === new URL(originOf(init.endpoint.host, init.endpoint.scheme)).origin;
      // Only the registry itself may challenge us: a redirected host's 401 must not pull
      // credentials towards a realm it names (containerd CVE-2020-15157).
      if (response.status === 401 && sameOrigin && !challenged) {
        const retryWith = await this.auth.onUnauthorized(target, response.headers['www-authenticate'], authorization, init.signal);
        if (retryWith !== undefined) {
          drain(response.body);
          challenged = true;
          authorization = retryWith;
          attempt--;
          continue;
        }
      }
      if (RETRY_STATUSES.has(response.status) && !last) {
        drain(response.body);
        await this.wait(attempt, response.headers['retry-after'], init);
        continue;
      }
      if (response.status >= 200 && response.status < 300) return response;
      const detail = init.method === 'HEAD' ? undefined : registryErrorDetail(await readAll(response.body, 64 * 1024).catch(() => Buffer.alloc(0)));
      const creds = authorization === undefined ? undefined : await this.auth.credentialsFor(target);
      throw statusFailure({
        status: response.status,
        subject: init.subject,
        credentialsSource: creds?.source,
        credentialFiles: this.credentialFiles,
        detail,
      });
    }
  }

  private async wait(attempt: number, retryAfter: string | undefined, init: SendInit): Promise<void> {
    try {
      await sleep(retryDelay(attempt, retryAfter, this.retry), init.signal);
    } catch (error) {
      throw transportFailure(error, init.subject, init.signal);
    }
  }
}
