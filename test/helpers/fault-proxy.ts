// An HTTP proxy on 127.0.0.1 in front of a registry that injects faults on chosen requests (errors,
// resets, slow or corrupt or truncated bodies, rewritten headers) and passes the rest through.

import { request as httpRequest, createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type FaultAction =
  /** Answer with this status without asking the registry (e.g. 429 + Retry-After, 503). */
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  /** Reset the connection (TCP RST): before any response, or after `afterBytes` bytes of body. */
  | { kind: 'reset'; afterBytes?: number }
  /** Wait `delayMs` before the response head, then send the body at `bytesPerSecond`. */
  | { kind: 'slow'; delayMs?: number; bytesPerSecond?: number }
  /** Flip every bit of the body byte at `offset` (default: the middle of the body). */
  | { kind: 'corrupt'; offset?: number }
  /** Keep the registry's Content-Length but send only `bytes` bytes (default half), then close. */
  | { kind: 'truncate'; bytes?: number }
  /** Set response headers (a null value deletes the header). */
  | { kind: 'rewriteHeader'; headers: Record<string, string | null> }
  /** Answer a redirect; `{path}` in location is replaced by the request path (e.g. to a second proxy). */
  | { kind: 'redirect'; location: string; status?: 301 | 302 | 303 | 307 | 308 };

export interface FaultRule {
  /** Upper-case method; any when absent. */
  method?: string;
  /** Matched against the request path with its query. */
  path: RegExp | string;
  /** Apply only to the Nth matching request (1-based). */
  nth?: number;
  /** Apply to at most this many matching requests (after `nth`, if both are given). */
  times?: number;
  action: FaultAction;
}

export interface ProxiedRequest {
  method: string;
  path: string;
  status: number;
  /** The fault applied, if any. */
  fault?: FaultAction['kind'];
  /** The Authorization header the client sent, to prove credentials did (not) reach this host. */
  authorization?: string;
  /** The Range header the client sent. */
  range?: string;
}

export interface FaultProxy {
  /** "127.0.0.1:PORT" */
  host: string;
  url: string;
  requests: ProxiedRequest[];
  setRules(rules: FaultRule[]): void;
  stop(): Promise<void>;
}

interface ActiveRule {
  rule: FaultRule;
  matched: number;
  applied: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function targetOf(target: string): { hostname: string; port: number } {
  const url = new URL(target.includes('://') ? target : `http://${target}`);
  return { hostname: url.hostname, port: Number(url.port || 80) };
}

function pick(rules: ActiveRule[], method: string, path: string): FaultAction | undefined {
  for (const active of rules) {
    const { rule } = active;
    if (rule.method && rule.method !== method) continue;
    if (typeof rule.path === 'string' ? !path.includes(rule.path) : !rule.path.test(path)) continue;
    active.matched += 1;
    if (rule.nth !== undefined && active.matched !== rule.nth) continue;
    if (rule.times !== undefined && active.applied >= rule.times) continue;
    active.applied += 1;
    return rule.action;
  }
  return undefined;
}

function resetSocket(socket: Socket | null): void {
  if (!socket) return;
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

function responseHeaders(upstream: IncomingMessage, action: FaultAction | undefined): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = { ...upstream.headers };
  if (action?.kind === 'rewriteHeader') {
    for (const [name, value] of Object.entries(action.headers)) {
      if (value === null) delete headers[name.toLowerCase()];
      else headers[name.toLowerCase()] = value;
    }
  }
  return headers;
}

/** Streams the upstream body to the client, applying a body fault on the way. */
async function relayBody(upstream: IncomingMessage, res: ServerResponse, action: FaultAction | undefined): Promise<void> {
  const length = Number(upstream.headers['content-length'] ?? NaN);
  let sent = 0;
  const limit = action?.kind === 'truncate' ? (action.bytes ?? Math.floor((Number.isFinite(length) ? length : 0) / 2))
    : action?.kind === 'reset' ? (action.afterBytes ?? 0) : Infinity;
  const flipAt = action?.kind === 'corrupt' ? (action.offset ?? Math.floor((Number.isFinite(length) ? length : 1) / 2)) : -1;
  for await (const piece of upstream) {
    let chunk = Buffer.from(piece as Buffer);
    if (flipAt >= sent && flipAt < sent + chunk.length) {
      chunk = Buffer.from(chunk);
      chunk[flipAt - sent] = (chunk[flipAt - sent] ?? 0) ^ 0xff;
    }
    if (sent + chunk.length > limit) chunk = chunk.subarray(0, limit - sent);
    if (action?.kind === 'slow' && action.bytesPerSecond) {
      const step = Math.max(1, Math.floor(action.bytesPerSecond / 20));
      for (let i = 0; i < chunk.length; i += step) {
        res.write(chunk.subarray(i, i + step));
        await sleep(50);
      }
    } else if (chunk.length > 0) {
      res.write(chunk);
    }
    sent += chunk.length;
    if (sent >= limit) break;
  }
  if (sent >= limit && action?.kind === 'truncate') {
    upstream.destroy();
    // Let the partial body reach the client, then close without the rest (premature EOF).
    await new Promise<void>((resolve) => res.write('', () => resolve()));
    res.socket?.end();
    return;
  }
  if (sent >= limit && action?.kind === 'reset') {
    upstream.destroy();
    await new Promise<void>((resolve) => res.write('', () => resolve()));
    resetSocket(res.socket);
    return;
  }
  res.end();
}

export async function startFaultProxy(target: string, rules: FaultRule[] = []): Promise<FaultProxy> {
  const { hostname, port } = targetOf(target);
  let active: ActiveRule[] = rules.map((rule) => ({ rule, matched: 0, applied: 0 }));
  const requests: ProxiedRequest[] = [];

  const server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const action = pick(active, method, path);
    const record: ProxiedRequest = {
      method,
      path,
      status: 0,
      ...(action ? { fault: action.kind } : {}),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      ...(req.headers.range ? { range: req.headers.range } : {}),
    };
    requests.push(record);
    if (action?.kind === 'redirect') {
      req.resume();
      record.status = action.status ?? 307;
      res.writeHead(record.status, { location: action.location.replace('{path}', path), 'content-length': '0' });
      res.end();
      return;
    }
    if (action?.kind === 'status') {
      req.resume();
      record.status = action.status;
      const body = action.body ?? '';
      res.writeHead(action.status, { 'content-length': String(Buffer.byteLength(body)), ...(action.headers ?? {}) });
      res.end(body);
      return;
    }
    if (action?.kind === 'reset' && action.afterBytes === undefined) {
      req.resume();
      resetSocket(req.socket);
      return;
    }
    const upstreamRequest = httpRequest({ hostname, port, method, path, headers: req.headers }, async (upstream) => {
      record.status = upstream.statusCode ?? 0;
      try {
        if (action?.kind === 'slow' && action.delayMs) await sleep(action.delayMs);
        res.writeHead(upstream.statusCode ?? 502, upstream.statusMessage, responseHeaders(upstream, action));
        if (method === 'HEAD') {
          upstream.resume();
          res.end();
          return;
        }
        await relayBody(upstream, res, action);
      } catch {
        res.destroy();
      }
    });
    upstreamRequest.on('error', () => {
      record.status = 502;
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(upstreamRequest);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = `127.0.0.1:${address.port}`;
  return {
    host,
    url: `http://${host}`,
    requests,
    setRules(next) {
      active = next.map((rule) => ({ rule, matched: 0, applied: 0 }));
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
