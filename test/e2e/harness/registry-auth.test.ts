// Registries with authentication: htpasswd (Basic) and bearer tokens from the test token server.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, busyboxLayer, pushImage } from '../../helpers/image-builder.js';
import { DEFAULT_USERS, startRegistry, type RunningRegistry } from '../../helpers/registry.js';
import { startTokenServer } from '../../helpers/token-server.js';

const USER = Object.keys(DEFAULT_USERS)[0] ?? '';
const PASSWORD = DEFAULT_USERS[USER] ?? '';
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
const ACCEPT = 'application/vnd.oci.image.manifest.v1+json';

describe('htpasswd registry', () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'htpasswd' });
  });
  afterAll(async () => registry.stop());

  it('refuses anonymous requests with a Basic challenge', async () => {
    const response = await fetch(`${registry.url}/v2/`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm="envlock-test"/);
  });

  it('refuses a wrong password and accepts the user, who can push and read back', async () => {
    const wrong = await fetch(`${registry.url}/v2/`, { headers: { authorization: `Basic ${Buffer.from(`${USER}:nope`).toString('base64')}` } });
    expect(wrong.status).toBe(401);
    const image = buildImage({ layers: [busyboxLayer()], platform: { os: 'linux', architecture: 'amd64' } });
    await pushImage(registry.host, 'private/box', 'v1', image, { authorization: BASIC });
    const got = await fetch(`${registry.url}/v2/private/box/manifests/v1`, { headers: { authorization: BASIC, accept: ACCEPT } });
    expect(got.status).toBe(200);
    expect(got.headers.get('docker-content-digest')).toBe(image.digest);
  });
});

describe('token registry', () => {
  let registry: RunningRegistry;
  const image = buildImage({ layers: [busyboxLayer()], platform: { os: 'linux', architecture: 'amd64' } });
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token', publicRepos: ['public/box'] });
  });
  afterAll(async () => registry.stop());

  async function token(scope: string, authorization?: string): Promise<{ status: number; token?: string }> {
    const challenge = (await fetch(`${registry.url}/v2/`)).headers.get('www-authenticate') ?? '';
    const realm = /realm="([^"]+)"/.exec(challenge)?.[1] ?? '';
    const service = /service="([^"]+)"/.exec(challenge)?.[1] ?? '';
    const url = new URL(realm);
    url.searchParams.set('service', service);
    url.searchParams.append('scope', scope);
    const response = await fetch(url, { headers: authorization ? { authorization } : {} });
    const body = response.status === 200 ? ((await response.json()) as { token: string }) : undefined;
    return { status: response.status, ...(body ? { token: body.token } : {}) };
  }

  it('answers anonymous /v2/ with a Bearer challenge naming the token server realm', async () => {
    const response = await fetch(`${registry.url}/v2/`);
    expect(response.status).toBe(401);
    const challenge = response.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/token",service="envlock-test-registry"/);
    expect(challenge).toContain(registry.tokenServer?.realm);
  });

  it('lets a user with a token push and GET a manifest, and asks for the scope in the challenge', async () => {
    const push = await token('repository:private/box:pull,push', BASIC);
    expect(push.status).toBe(200);
    await pushImage(registry.host, 'private/box', 'v1', image, { authorization: `Bearer ${push.token}` });
    const anonymous = await fetch(`${registry.url}/v2/private/box/manifests/v1`, { headers: { accept: ACCEPT } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('scope="repository:private/box:pull"');
    const pull = await token('repository:private/box:pull', BASIC);
    const got = await fetch(`${registry.url}/v2/private/box/manifests/v1`, { headers: { authorization: `Bearer ${pull.token}`, accept: ACCEPT } });
    expect(got.status).toBe(200);
    expect(got.headers.get('docker-content-digest')).toBe(image.digest);
    expect(registry.tokenServer?.requests.at(-1)).toEqual({ user: USER, scopes: ['repository:private/box:pull'], status: 200, method: 'GET' });
  });

  it('refuses bad credentials at the token endpoint', async () => {
    const bad = await token('repository:private/box:pull', `Basic ${Buffer.from(`${USER}:wrong`).toString('base64')}`);
    expect(bad.status).toBe(401);
  });

  it('gives anonymous callers pull on public repositories only', async () => {
    const push = await token('repository:public/box:pull,push', BASIC);
    await pushImage(registry.host, 'public/box', 'v1', image, { authorization: `Bearer ${push.token}` });
    const publicPull = await token('repository:public/box:pull');
    const got = await fetch(`${registry.url}/v2/public/box/manifests/v1`, { headers: { authorization: `Bearer ${publicPull.token}`, accept: ACCEPT } });
    expect(got.status).toBe(200);
    const privatePull = await token('repository:private/box:pull');
    const denied = await fetch(`${registry.url}/v2/private/box/manifests/v1`, { headers: { authorization: `Bearer ${privatePull.token}`, accept: ACCEPT } });
    expect(denied.status).toBe(401);
    expect(await denied.text()).toContain('UNAUTHORIZED');
  });

  it('answers the OAuth2 POST form: password grant with a refresh token, then a refresh_token grant', async () => {
    const realm = registry.tokenServer?.realm ?? '';
    const post = (form: Record<string, string>) =>
      fetch(realm, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
    const first = await post({ grant_type: 'password', username: USER, password: PASSWORD, service: 'envlock-test-registry', scope: 'repository:private/box:pull', access_type: 'offline', client_id: 'envlock' });
    expect(first.status).toBe(200);
    const { refresh_token: refresh } = (await first.json()) as { refresh_token: string };
    expect(refresh).toMatch(/^refresh-/);
    const second = await post({ grant_type: 'refresh_token', refresh_token: refresh, service: 'envlock-test-registry', scope: 'repository:private/box:pull', client_id: 'envlock' });
    const { access_token: access } = (await second.json()) as { access_token: string };
    const got = await fetch(`${registry.url}/v2/private/box/manifests/v1`, { headers: { authorization: `Bearer ${access}`, accept: ACCEPT } });
    expect(got.status).toBe(200);
    const wrong = await post({ grant_type: 'refresh_token', refresh_token: 'refresh-forged', service: 'envlock-test-registry', scope: 'repository:private/box:pull' });
    expect(wrong.status).toBe(401);
    expect(registry.tokenServer?.requests.at(-1)).toMatchObject({ method: 'POST', status: 401 });
  });
});

describe('token server options', () => {
  it('answers POST with 404 when OAuth2 is off, so clients fall back to GET', async () => {
    const server = await startTokenServer({ oauthPost: false, users: DEFAULT_USERS });
    try {
      expect((await fetch(server.realm, { method: 'POST', body: 'grant_type=password' })).status).toBe(404);
      const get = await fetch(`${server.realm}?service=${server.service}&scope=repository:x:pull`, { headers: { authorization: BASIC } });
      expect(get.status).toBe(200);
      const { token, expires_in: expiresIn } = (await get.json()) as { token: string; expires_in: number };
      expect(expiresIn).toBe(300);
      const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
      expect(claims).toMatchObject({ iss: server.issuer, aud: server.service, sub: USER, access: [{ type: 'repository', name: 'x', actions: ['pull'] }] });
    } finally {
      await server.stop();
    }
  });
});
