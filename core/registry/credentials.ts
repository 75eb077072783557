// Finds the credentials for a registry in the files podman and docker write: containers-auth.json(5)
// and docker's config.json (`auths`, `credHelpers`, `credsStore`), most specific key first.

import fs from 'node:fs/promises';
import path from 'node:path';
import type { Context } from '../context.js';
import { EnvlockError, errnoCode } from '../errors.js';
import { runCredentialHelper } from './cred-helper.js';
import { DOCKER_HUB, DOCKER_HUB_AUTH_KEY, DOCKER_HUB_NAMES } from './docker-hub.js';

export type Credentials =
  | { kind: 'basic'; username: string; password: string; source: string }
  | { kind: 'identity-token'; token: string; source: string };

interface AuthFile {
  auths?: Record<string, { auth?: string; identitytoken?: string; username?: string; password?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

// Docker Hub answers at its API host, but logins are filed under docker.io or the legacy key.
const HUB_NAMES = DOCKER_HUB_NAMES;
const HUB_AUTH_KEY = DOCKER_HUB_AUTH_KEY;

/** Auth files in the order they are consulted (podman's order, then docker's). */
export function authFileCandidates(ctx: Pick<Context, 'env' | 'home'>): string[] {
  const env = ctx.env;
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) files.push(path.join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  files.push(path.join(env.XDG_CONFIG_HOME || path.join(ctx.home, '.config'), 'containers', 'auth.json'));
  files.push(path.join(env.DOCKER_CONFIG || path.join(ctx.home, '.docker'), 'config.json'));
  return files;
}

/**
 * A key as written in a file -> what it matches: URLs ("https://host/v1/") become their host
 * (docker/cli ConvertToHostname); "host/namespace" keys stay as they are (containers-auth.json(5)).
 */
export function normaliseAuthKey(key: string): string {
  let result = key;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(result);
  if (scheme !== null) {
    result = result.slice(scheme[0].length);
    const slash = result.indexOf('/');
    if (slash !== -1) result = result.slice(0, slash);
  }
  result = result.replace(/\/+$/, '');
  const slash = result.indexOf('/');
  const host = slash === -1 ? result : result.slice(0, slash);
  return HUB_NAMES.has(host.toLowerCase()) ? `${DOCKER_HUB}${result.slice(host.length)}` : result;
}

/** The candidate keys for registry/repository, most specific first: host/a/b, host/a, host. */
export function lookupKeys(registry: string, repository: string): string[] {
  const host = HUB_NAMES.has(registry.toLowerCase()) ? DOCKER_HUB : registry;
  const keys: string[] = [];
  const parts = repository.split('/');
  for (let n = parts.length; n > 0; n--) keys.push(`${host}/${parts.slice(0, n).join('/')}`);
  keys.push(host);
  return keys;
}

async function readAuthFile(file: string): Promise<AuthFile | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES') return undefined;
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as AuthFile) : undefined;
  } catch (error) {
    throw new EnvlockError('CONFIG_INVALID', `The registry credentials file ${file} is not valid JSON.`, {
      hint: 'Fix or remove the file, then log in again with `podman login` or `docker login`.',
      cause: error,
    });
  }
}

function decodeAuth(value: string, source: string): Credentials | undefined {
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  // The password may contain colons: split at the first one only.
  return { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1), source };
}

function fromHelper(found: { username: string; secret: string }, source: string): Credentials {
  // "<token>" as the user name marks an identity token (docker/cli credential helper protocol).
  if (found.username === '<token>') return { kind: 'identity-token', token: found.secret, source };
  return { kind: 'basic', username: found.username, password: found.secret, source };
}

function helperServerUrl(host: string): string {
  return host === DOCKER_HUB ? HUB_AUTH_KEY : host;
}

/** Credentials for one lookup in one file, or undefined to try the next file. */
async function fromFile(file: string, doc: AuthFile, registry: string, repository: string, env: Context['env']): Promise<Credentials | undefined> {
  const keys = lookupKeys(registry, repository);
  const host = keys[keys.length - 1]!;
  if (doc.credHelpers !== undefined) {
    for (const [key, helper] of Object.entries(doc.credHelpers)) {
      if (normaliseAuthKey(key) === host && typeof helper === 'string') {
        const found = await runCredentialHelper(helper, helperServerUrl(host), env);
        if (found !== undefined) return fromHelper(found, `docker-credential-${helper} (${file})`);
      }
    }
  }
  if (typeof doc.credsStore === 'string' && doc.credsStore !== '') {
    const found = await runCredentialHelper(doc.credsStore, helperServerUrl(host), env);
    if (found !== undefined) return fromHelper(found, `docker-credential-${doc.credsStore} (${file})`);
  }
  if (doc.auths === undefined) return undefined;
  const byKey = new Map<string, NonNullable<AuthFile['auths']>[string]>();
  for (const [key, entry] of Object.entries(doc.auths)) {
    const normal = normaliseAuthKey(key);
    if (!byKey.has(normal)) byKey.set(normal, entry);
  }
  for (const key of keys) {
    const entry = byKey.get(key);
    if (entry === undefined || typeof entry !== 'object' || entry === null) continue;
    if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') {
      return { kind: 'identity-token', token: entry.identitytoken, source: file };
    }
    if (typeof entry.auth === 'string' && entry.auth !== '') {
      const creds = decodeAuth(entry.auth, file);
      if (creds !== undefined) return creds;
    }
    if (typeof entry.username === 'string' && typeof entry.password === 'string') {
      return { kind: 'basic', username: entry.username, password: entry.password, source: file };
    }
  }
  return undefined;
}

/** Finds credentials for registry/repository, or undefined for anonymous access. */
export async function findCredentials(ctx: Pick<Context, 'env' | 'home'>, registry: string, repository: string): Promise<Credentials | undefined> {
  for (const file of authFileCandidates(ctx)) {
    const doc = await readAuthFile(file);
    if (doc === undefined) continue;
    const creds = await fromFile(file, doc, registry, repository, ctx.env);
    if (creds !== undefined) return creds;
  }
  return undefined;
}

/** Human text naming where credentials are read from, for REGISTRY_AUTH hints. */
export function credentialFilesText(ctx: Pick<Context, 'env' | 'home'>): string {
  return authFileCandidates(ctx).join(', ');
}
