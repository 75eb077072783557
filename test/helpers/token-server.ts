// A tiny bearer-token server for the test registry (distribution docs spec/auth/token.md and
// jwt.md): Basic credentials or anonymous in, an RS256 JWT whose `access` claim grants the scope out.

import { spawnSync } from 'node:child_process';
import { createSign, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TokenServerOptions {
  /** user → password accepted as Basic credentials at the token endpoint. */
  users?: Record<string, string>;
  /** Repositories anyone may pull without credentials. */
  publicRepos?: string[];
  service?: string;
  issuer?: string;
  /** Seconds a token lives (the `expires_in` answered); default 300. */
  expiresIn?: number;
  /** Answer the OAuth2 POST form (token.md "oauth"); when false, POST gets 404 so clients fall back to GET. */
  oauthPost?: boolean;
}

export interface TokenRequest {
  user: string | undefined;
  scopes: string[];
  status: number;
  /** 'GET' (Basic or anonymous) or 'POST' (OAuth2 form: grant_type password or refresh_token). */
  method?: string;
}

export interface TokenServer {
  /** The realm URL: http://127.0.0.1:PORT/token */
  realm: string;
  service: string;
  issuer: string;
  /** PEM certificate whose key signs the tokens (the registry's `rootcertbundle`). */
  certFile: string;
  /** Every request the token endpoint answered, in order. */
  requests: TokenRequest[];
  /** Issues a token directly, e.g. for a test that wants to send it itself. */
  issue(user: string | undefined, scopes: string[]): string;
  /** A refresh (identity) token for a user, as `docker login` would store it. */
  refreshTokenFor(user: string): string;
  stop(): Promise<void>;
}

interface Access {
  type: string;
  name: string;
  actions: string[];
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

function makeKeyPair(dir: string): { keyPem: string; certPem: string; certDer: Buffer; certFile: string } {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '3', '-subj', '/CN=envlock-test-token-issuer'], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (made.status !== 0) throw new Error(`openssl could not make a signing key: ${made.stderr?.toString() ?? made.error?.message}`);
  const certPem = readFileSync(certFile, 'utf8');
  const b64 = certPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return { keyPem: readFileSync(keyFile, 'utf8'), certPem, certDer: Buffer.from(b64, 'base64'), certFile };
}

/** "repository:a/b:pull,push" → Access; names may not contain ':' except a registry port, so split from the ends. */
function parseScope(scope: string): Access | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last === first) return undefined;
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',').filter(Boolean) };
}

function basicUser(header: string | undefined, users: Record<string, string>): { user?: string; bad: boolean } {
  if (!header) return { bad: false };
  const match = /^Basic\s+(\S+)$/i.exec(header);
  if (!match?.[1]) return { bad: true };
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = decoded.slice(0, colon);
  return colon > 0 && users[user] !== undefined && users[user] === decoded.slice(colon + 1) ? { user, bad: false } : { bad: true };
}

export async function startTokenServer(options: TokenServerOptions = {}): Promise<TokenServer> {
  const dir = mkdtempSync(join(tmpdir(), 'envlock-token-'));
  const { keyPem, certDer, certFile } = makeKeyPair(dir);
  const service = options.service ?? 'envlock-test-registry';
  const issuer = options.issuer ?? 'envlock-test-issuer';
  const users = options.users ?? {};
  const publicRepos = new Set(options.publicRepos ?? []);
  const expiresIn = options.expiresIn ?? 300;
  const requests: TokenRequest[] = [];

  function grant(user: string | undefined, scopes: string[]): Access[] {
    const access: Access[] = [];
    for (const scope of scopes.flatMap((s) => s.split(' '))) {
      const parsed = parseScope(scope);
      if (!parsed) continue;
      if (user !== undefined) access.push(parsed);
      else if (parsed.type === 'repository' && publicRepos.has(parsed.name)) {
        const actions = parsed.actions.filter((a) => a === 'pull');
        if (actions.length > 0) access.push({ ...parsed, actions });
      }
    }
    return access;
  }

  function issue(user: string | undefined, scopes: string[]): string {
    const now = Math.floor(Date.now() / 1000);
    // x5c carries the signing certificate; distribution verifies it against rootcertbundle.
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] };
    const claims = { iss: issuer, sub: user ?? '', aud: service, exp: now + expiresIn, nbf: now - 10, iat: now, jti: randomUUID(), access: grant(user, scopes) };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = createSign('RSA-SHA256').update(signingInput).sign(keyPem);
    return `${signingInput}.${base64url(signature)}`;
  }

  const refreshTokens = new Map<string, string>();
  function refreshTokenFor(user: string): string {
    const token = `refresh-${randomUUID()}`;
    refreshTokens.set(token, user);
    return token;
  }

  function answer(res: ServerResponse, record: TokenRequest, body: Record<string, unknown>): void {
    requests.push(record);
    res.writeHead(record.status, { 'content-type': 'application/json', ...(record.status === 401 ? { 'www-authenticate': 'Basic realm="envlock-test-token"' } : {}) });
    res.end(JSON.stringify(body));
  }

  function granted(res: ServerResponse, method: string, user: string | undefined, scopes: string[], refresh: boolean): void {
    const token = issue(user, scopes);
    const body: Record<string, unknown> = { token, access_token: token, expires_in: expiresIn, issued_at: new Date().toISOString() };
    if (refresh && user !== undefined) body.refresh_token = refreshTokenFor(user);
    answer(res, { user, scopes, status: 200, method }, body);
  }

  const DENIED = { errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://token.invalid');
    if (url.pathname !== '/token' || (req.method === 'POST' && options.oauthPost === false)) {
      res.writeHead(404).end();
      return;
    }
    if (req.method === 'POST') {
      // OAuth2 form (distribution docs spec/auth/oauth.md): password or refresh_token grants.
      let text = '';
      for await (const chunk of req) text += String(chunk);
      const form = new URLSearchParams(text);
      const scopes = form.getAll('scope');
      const grant = form.get('grant_type');
      let user: string | undefined;
      if (grant === 'password') {
        const name = form.get('username') ?? '';
        if (users[name] !== undefined && users[name] === form.get('password')) user = name;
      } else if (grant === 'refresh_token') {
        user = refreshTokens.get(form.get('refresh_token') ?? '');
      }
      if (user === undefined) {
        answer(res, { user: undefined, scopes, status: 401, method: 'POST' }, DENIED);
        return;
      }
      granted(res, 'POST', user, scopes, form.get('access_type') === 'offline');
      return;
    }
    const scopes = url.searchParams.getAll('scope');
    const { user, bad } = basicUser(req.headers.authorization, users);
    if (bad) {
      answer(res, { user: undefined, scopes, status: 401, method: 'GET' }, DENIED);
      return;
    }
    granted(res, 'GET', user, scopes, url.searchParams.get('offline_token') === 'true');
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    requests,
    issue,
    refreshTokenFor,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
