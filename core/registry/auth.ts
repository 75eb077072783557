// Answers registry challenges: Basic credentials, or the Bearer token flow of the distribution
// token spec (docs/spec/auth/token.md; OAuth2 refresh_token grant for identity tokens), with
// tokens cached per (realm, service, scope) until they expire.

import type { Context } from '../context.js';
import { EnvlockError } from '../errors.js';
import { parseChallenges, pickChallenge, type Challenge } from './challenge.js';
import { findCredentials, type Credentials } from './credentials.js';
import { hostName, isInternalAddress } from './hosts.js';

/** A bare HTTP exchange the authenticator uses to reach a token realm (no auth, no retries). */
export type TokenFetch = (url: URL, init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string; signal: AbortSignal }) => Promise<{ status: number; body: Buffer }>;

export interface AuthTarget {
  /** host[:port] of the registry endpoint. */
  host: string;
  scheme: 'http' | 'https';
  repository: string;
  /** Canonical reference, for messages. */
  reference: string;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Token lifetime when the server does not say (token.md: "defaults to 60 seconds"). */
const DEFAULT_EXPIRES_S = 60;
/** Renew a little early so a token does not expire in flight. */
const EXPIRY_SLACK_MS = 5_000;

export class Authenticator {
  private readonly challenges = new Map<string, Challenge>();
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<CachedToken>>();
  private readonly credentials = new Map<string, Promise<Credentials | undefined>>();
  /** How many token requests were made; tests assert reuse with it. */
  tokenRequests = 0;

  constructor(
    private readonly ctx: Pick<Context, 'env' | 'home'>,
    private readonly fetchToken: TokenFetch,
    private readonly now: () => number = Date.now,
  ) {}

  credentialsFor(target: AuthTarget): Promise<Credentials | undefined> {
    const key = `${target.host}/${target.repository}`;
    let found = this.credentials.get(key);
    if (found === undefined) {
      found = findCredentials(this.ctx, target.host, target.repository);
      this.credentials.set(key, found);
    }
    return found;
  }

  /** The Authorization header to send proactively, once a host has challenged us. */
  async header(target: AuthTarget, signal: AbortSignal): Promise<string | undefined> {
    const challenge = this.challenges.get(target.host);
    if (challenge === undefined) return undefined;
    return this.answer(target, challenge, signal, false);
  }

  /**
   * Learns the challenge of a 401 and returns the header to retry with, or undefined when
   * there is nothing better to send (no credentials for Basic, unknown scheme).
   */
  async onUnauthorized(target: AuthTarget, wwwAuthenticate: string | undefined, sent: string | undefined, signal: AbortSignal): Promise<string | undefined> {
    const challenge = pickChallenge(parseChallenges(wwwAuthenticate ?? ''));
    if (challenge === undefined) return undefined;
    this.challenges.set(target.host, challenge);
    const header = await this.answer(target, challenge, signal, sent !== undefined && sent.startsWith('Bearer '));
    return header === sent ? undefined : header;
  }

  private async answer(target: AuthTarget, challenge: Challenge, signal: AbortSignal, forceRefresh: boolean): Promise<string | undefined> {
    const creds = await this.credentialsFor(target);
    if (challenge.scheme === 'basic') {
      if (creds?.kind !== 'basic') return undefined;
      return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    }
    const realm = challenge.params.realm;
    if (realm === undefined || realm === '') return undefined;
    const service = challenge.params.service ?? '';
    const scope = `repository:${target.repository}:pull`;
    const key = `${realm}\n${service}\n${scope}`;
    const cached = this.tokens.get(key);
    if (!forceRefresh && cached !== undefined && cached.expiresAt > this.now()) return `Bearer ${cached.token}`;
    // Parallel requests that meet the same challenge share one token request.
    let pending = this.pending.get(key);
    if (pending === undefined) {
      pending = this.requestToken(target, realm, service, scope, creds, signal).then((token) => {
        const entry = { token: token.token, expiresAt: this.now() + token.expiresIn * 1000 - EXPIRY_SLACK_MS };
        this.tokens.set(key, entry);
        return entry;
      });
      this.pending.set(key, pending);
      void pending.then(() => this.pending.delete(key), () => this.pending.delete(key));
    }
    return `Bearer ${(await pending).token}`;
  }

  private realmUrl(target: AuthTarget, realm: string): URL {
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw this.protocol(target, `its token realm ${JSON.stringify(realm)} is not a URL`);
    }
    // Only https, unless the registry itself is plain HTTP (loopback or marked insecure).
    const schemeOk = url.protocol === 'https:' || (url.protocol === 'http:' && target.scheme === 'http');
    // SSRF guard (GHSA-mx96-5vvg-x2mg): a public registry may not send us to internal addresses.
    const internalOk = !isInternalAddress(url.host) || isInternalAddress(target.host) || hostName(url.host) === hostName(target.host);
    if (!schemeOk || !internalOk) throw this.protocol(target, `its token realm ${url.origin} is not allowed`);
    return url;
  }

  private async requestToken(target: AuthTarget, realm: string, service: string, scope: string, creds: Credentials | undefined, signal: AbortSignal): Promise<{ token: string; expiresIn: number }> {
    const url = this.realmUrl(target, realm);
    this.tokenRequests++;
    let response: { status: number; body: Buffer } | undefined;
    if (creds?.kind === 'identity-token') {
      // OAuth2 refresh_token grant (token spec "oauth.md").
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.token, service, scope, client_id: 'envlock' });
      response = await this.fetchToken(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString(), signal });
    }
    // A token service without the OAuth2 endpoint answers 404/405: fall back to the GET flow
    // (ggcr bearer.go refresh), which cannot use the identity token and so goes anonymous.
    if (response === undefined || response.status === 404 || response.status === 405) {
      if (service !== '') url.searchParams.set('service', service);
      url.searchParams.append('scope', scope);
      const headers: Record<string, string> = {};
      if (creds?.kind === 'basic') headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
      response = await this.fetchToken(url, { method: 'GET', headers, signal });
    }
    if (response.status === 401 || response.status === 403) {
      throw new EnvlockError('REGISTRY_AUTH', creds === undefined
        ? `The token service of ${target.host} refused anonymous access to ${target.reference}.`
        : `The token service of ${target.host} rejected the credentials from ${creds.source} for ${target.reference}.`, {
        hint: `Log in with \`podman login ${target.host}\` or \`docker login ${target.host}\`.`,
      });
    }
    if (response.status !== 200) throw this.protocol(target, `its token service answered HTTP ${response.status}`);
    let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      doc = JSON.parse(response.body.toString('utf8')) as typeof doc;
    } catch {
      throw this.protocol(target, 'its token service did not answer JSON');
    }
    // Some registries send access_token instead of token (ggcr bearer.go).
    const token = typeof doc.token === 'string' && doc.token !== '' ? doc.token : doc.access_token;
    if (typeof token !== 'string' || token === '') throw this.protocol(target, 'its token service answered without a token');
    const expiresIn = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : DEFAULT_EXPIRES_S;
    return { token, expiresIn };
  }

  private protocol(target: AuthTarget, why: string): EnvlockError {
    return new EnvlockError('REGISTRY_PROTOCOL', `The registry ${target.host} cannot be used for ${target.reference}: ${why}.`, {
      hint: 'Check the registry configuration, or report it to the registry operator.',
    });
  }
}
