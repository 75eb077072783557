// Authentication against the real docker-registry: htpasswd (Basic) and bearer tokens from a
// token server, anonymous and with credentials, and token reuse.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRegistryReference } from '../../../core/registry/reference.js';
import { buildImage, busyboxLayer, pushImage } from '../../helpers/image-builder.js';
import { startRegistry, type RunningRegistry } from '../../helpers/registry.js';
import { basicAuthFile, clientEnv, failure } from './client-env.js';

const USERS = { alice: 'wonder:land' };
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const image = buildImage({ layers: [busyboxLayer()], platform: { os: 'linux', architecture: 'amd64' } });

describe('htpasswd registry', () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'htpasswd', users: USERS });
    await pushImage(registry.host, 'private/app', '1.0', image, { authorization: basic('alice', 'wonder:land') });
  });
  afterAll(async () => registry.stop());

  it('without credentials: REGISTRY_AUTH naming the registry and how to log in', async () => {
    const env = await clientEnv();
    try {
      const error = await failure(env.client.resolveManifest(parseRegistryReference(`${registry.host}/private/app:1.0`)));
      expect(error.code).toBe('REGISTRY_AUTH');
      expect(error.exitCode).toBe(1);
      expect(error.message).toBe(`The registry ${registry.host} requires credentials to pull ${registry.host}/private/app:1.0 (UNAUTHORIZED: authentication required).`);
      expect(error.hint).toContain(`podman login ${registry.host}`);
      expect(error.hint).toContain('auth.json');
    } finally {
      await env.close();
    }
  });

  it('with credentials in an auth.json: resolves and downloads', async () => {
    const home = (await import('./client-env.js')).tempHome();
    const file = basicAuthFile(home, registry.host, 'alice', 'wonder:land');
    const env = await clientEnv({ REGISTRY_AUTH_FILE: file }, {}, home);
    try {
      const ref = parseRegistryReference(`${registry.host}/private/app:1.0`);
      const resolved = await env.client.resolveManifest(ref);
      expect(resolved.descriptor.digest).toBe(image.digest);
      expect(await env.client.getBlobJSON(ref, image.configDescriptor.digest)).toMatchObject({ architecture: 'amd64' });
    } finally {
      await env.close();
    }
  });

  it('with wrong credentials: REGISTRY_AUTH naming the file they came from', async () => {
    const home = (await import('./client-env.js')).tempHome();
    const file = basicAuthFile(home, registry.host, 'alice', 'nope');
    const env = await clientEnv({ REGISTRY_AUTH_FILE: file }, {}, home);
    try {
      const error = await failure(env.client.resolveManifest(parseRegistryReference(`${registry.host}/private/app:1.0`)));
      expect(error.code).toBe('REGISTRY_AUTH');
      expect(error.message).toContain(`rejected the credentials from ${file}`);
    } finally {
      await env.close();
    }
  });
});

describe('token registry', () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token', users: USERS, publicRepos: ['public/app'] });
    const server = registry.tokenServer!;
    const push = (repo: string) => pushImage(registry.host, repo, '1.0', image, { authorization: `Bearer ${server.issue('alice', [`repository:${repo}:pull,push`])}` });
    await push('public/app');
    await push('private/app');
    server.requests.length = 0;
  });
  afterAll(async () => registry.stop());

  it('pulls a public repository anonymously and reuses one token for every request', async () => {
    const env = await clientEnv();
    try {
      const ref = parseRegistryReference(`${registry.host}/public/app:1.0`);
      await env.client.resolveManifest(ref);
      await env.client.headManifest(ref);
      await env.client.getManifest(ref, image.digest);
      const layer = await env.client.getBlob(ref, image.layers[0]!.digest);
      await layer.stream.toArray();
      const requests = registry.tokenServer!.requests;
      expect(requests).toHaveLength(1);
      expect(requests[0]).toMatchObject({ user: undefined, scopes: ['repository:public/app:pull'], status: 200 });
      expect(env.client.auth.tokenRequests).toBe(1);
    } finally {
      await env.close();
      registry.tokenServer!.requests.length = 0;
    }
  });

  it('refuses a private repository to anonymous users with REGISTRY_AUTH', async () => {
    const env = await clientEnv();
    try {
      const error = await failure(env.client.resolveManifest(parseRegistryReference(`${registry.host}/private/app:1.0`)));
      expect(error.code).toBe('REGISTRY_AUTH');
      expect(error.message).toContain(`requires credentials to pull ${registry.host}/private/app:1.0`);
    } finally {
      await env.close();
      registry.tokenServer!.requests.length = 0;
    }
  });

  it('sends Basic credentials to the token endpoint and pulls a private repository', async () => {
    const home = (await import('./client-env.js')).tempHome();
    const file = basicAuthFile(home, registry.host, 'alice', 'wonder:land');
    const env = await clientEnv({ REGISTRY_AUTH_FILE: file }, {}, home);
    try {
      const resolved = await env.client.resolveManifest(parseRegistryReference(`${registry.host}/private/app:1.0`));
      expect(resolved.descriptor.digest).toBe(image.digest);
      expect(registry.tokenServer!.requests).toEqual([expect.objectContaining({ user: 'alice', scopes: ['repository:private/app:pull'], status: 200 })]);
    } finally {
      await env.close();
      registry.tokenServer!.requests.length = 0;
    }
  });
  it('exchanges an identity token with the OAuth2 refresh_token grant', async () => {
    const home = (await import('./client-env.js')).tempHome();
    const refresh = registry.tokenServer!.refreshTokenFor('alice');
    const file = (await import('node:path')).join(home, 'config.json');
    (await import('node:fs')).writeFileSync(file, JSON.stringify({ auths: { [registry.host]: { identitytoken: refresh } } }));
    const env = await clientEnv({ DOCKER_CONFIG: home }, {}, home);
    try {
      const resolved = await env.client.resolveManifest(parseRegistryReference(`${registry.host}/private/app:1.0`));
      expect(resolved.descriptor.digest).toBe(image.digest);
      expect(registry.tokenServer!.requests).toEqual([expect.objectContaining({ method: 'POST', user: 'alice', scopes: ['repository:private/app:pull'], status: 200 })]);
    } finally {
      await env.close();
      registry.tokenServer!.requests.length = 0;
    }
  });
});
