// registries.conf and envlock config parsing, and the endpoints (mirrors, scheme) they produce.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EnvlockError } from '../../../core/errors.js';
import { loadRegistryConfig } from '../../../core/registry/config.js';
import { defaultRegistryOf, endpointsFor } from '../../../core/registry/endpoints.js';
import { DOCKER_HUB_API_HOST } from '../../../core/registry/docker-hub.js';
import { parseRegistryReference } from '../../../core/registry/reference.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'envlock-regconf-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

const REGISTRIES = `
unqualified-search-registries = ["search.example", "other.example"]

[[registry]]
prefix = "primary.example/team"
location = "internal.example:5000/mirror/team"
pull-from-mirror = "all"

[[registry.mirror]]
location = "m1.example"
insecure = true

[[registry.mirror]]
location = "m2.example/cache"
pull-from-mirror = "digest-only"

[[registry]]
location = "primary.example"

[[registry]]
location = "blocked.example"
blocked = true

[[registry]]
prefix = "*.wild.example"
insecure = true
`;

describe('loadRegistryConfig', () => {
  it('reads $CONTAINERS_REGISTRIES_CONF and ignores the system file', async () => {
    const file = write('registries.conf', REGISTRIES);
    const system = write('system.conf', 'unqualified-search-registries = ["system.example"]');
    const config = await loadRegistryConfig({ env: { CONTAINERS_REGISTRIES_CONF: file }, home: dir }, { systemPath: system });
    expect(config.files).toEqual([file]);
    expect(defaultRegistryOf(config)).toBe('search.example');
    expect(config.registries).toHaveLength(4);
    expect(config.registries[0]!.mirrors.map((m) => [m.location, m.insecure, m.pullFromMirror])).toEqual([
      ['m1.example', true, 'all'],
      ['m2.example/cache', false, 'digest-only'],
    ]);
  });

  it('prefers the user file to the system file, and falls back to the system file', async () => {
    const system = write('system.conf', 'unqualified-search-registries = ["system.example"]');
    expect(defaultRegistryOf(await loadRegistryConfig({ env: {}, home: dir }, { systemPath: system }))).toBe('system.example');
    write('.config/containers/registries.conf', 'unqualified-search-registries = ["user.example"]');
    expect(defaultRegistryOf(await loadRegistryConfig({ env: {}, home: dir }, { systemPath: system }))).toBe('user.example');
  });

  it('adds envlock [registry."host"] tables, which win over registries.conf', async () => {
    const conf = write('registries.conf', REGISTRIES);
    const own = write('envlock.toml', '[registry."primary.example"]\ninsecure = true\nmirrors = ["own-mirror.example:5000"]\n');
    const config = await loadRegistryConfig({ env: { CONTAINERS_REGISTRIES_CONF: conf, ENVLOCK_CONFIG: own }, home: dir });
    const eps = endpointsFor(config, parseRegistryReference('primary.example/x/y:1'), false);
    expect(eps.map((e) => [e.host, e.repository, e.scheme, e.mirror])).toEqual([
      ['own-mirror.example:5000', 'x/y', 'https', true],
      ['primary.example', 'x/y', 'http', false],
    ]);
  });

  it.each([
    ['unqualified-search-registries = "x"', /must be a list of strings/],
    ['[[registry]]\ninsecure = "yes"\nlocation = "a"', /`insecure` must be true or false/],
    ['[[registry]]\ninsecure = true', /needs a `location` or a `prefix`/],
    ['[[registry]]\nlocation = "a"\npull-from-mirror = "sometimes"', /pull-from-mirror/],
    ['[[registry]]\nlocation = "a"\n[[registry.mirror]]\ninsecure = true', /needs a `location`/],
    ['this is = = not toml', /is invalid/],
  ])('reports CONFIG_INVALID for %j', async (text, message) => {
    const file = write('bad.conf', text);
    const error = await loadRegistryConfig({ env: { CONTAINERS_REGISTRIES_CONF: file }, home: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EnvlockError);
    expect((error as EnvlockError).code).toBe('CONFIG_INVALID');
    expect((error as EnvlockError).exitCode).toBe(1);
    expect((error as EnvlockError).message).toContain(file);
    expect((error as EnvlockError).message).toMatch(message);
  });

  it('rejects a malformed envlock registry table', async () => {
    const own = write('envlock.toml', '[registry."h.example"]\nmirrors = "m.example"\n');
    const error = await loadRegistryConfig({ env: { CONTAINERS_REGISTRIES_CONF: path.join(dir, 'none'), ENVLOCK_CONFIG: own }, home: dir }).catch((e: unknown) => e);
    expect((error as EnvlockError).code).toBe('CONFIG_INVALID');
    expect((error as EnvlockError).message).toMatch(/mirrors` must be a list/);
  });
});

describe('endpointsFor', () => {
  async function config() {
    const file = write('registries.conf', REGISTRIES);
    return loadRegistryConfig({ env: { CONTAINERS_REGISTRIES_CONF: file }, home: dir });
  }

  // A mirror location replaces the prefix, exactly like the entry's own location.
  it('rewrites the longest matching prefix and tries mirrors first', async () => {
    const c = await config();
    const ref = parseRegistryReference(`primary.example/team/app@sha256:${'b'.repeat(64)}`);
    expect(endpointsFor(c, ref, true).map((e) => `${e.scheme}://${e.host}/${e.repository}${e.mirror ? ' (mirror)' : ''}`)).toEqual([
      'http://m1.example/app (mirror)',
      'https://m2.example/cache/app (mirror)',
      'https://internal.example:5000/mirror/team/app',
    ]);
  });

  it('skips digest-only mirrors when resolving a tag', async () => {
    const c = await config();
    const eps = endpointsFor(c, parseRegistryReference('primary.example/team/app:1'), false);
    expect(eps.map((e) => e.host)).toEqual(['m1.example', 'internal.example:5000']);
  });

  it('does not match a prefix in the middle of a path component', async () => {
    const c = await config();
    const eps = endpointsFor(c, parseRegistryReference('primary.example/teamster/app'), false);
    expect(eps.map((e) => `${e.host}/${e.repository}`)).toEqual(['primary.example/teamster/app']);
  });

  it('uses plain HTTP for loopback and insecure hosts only', async () => {
    const c = await config();
    const scheme = (r: string) => endpointsFor(c, parseRegistryReference(r), false).at(-1)!.scheme;
    expect(scheme('127.0.0.1:5000/x')).toBe('http');
    expect(scheme('localhost:5000/x')).toBe('http');
    expect(scheme('[::1]:5000/x')).toBe('http');
    expect(scheme('a.wild.example/x')).toBe('http');
    expect(scheme('unknown.example/x')).toBe('https');
    expect(scheme('10.0.0.1:5000/x')).toBe('https');
  });

  it('refuses a blocked registry with REGISTRY_DENIED', async () => {
    const c = await config();
    let caught: unknown;
    try {
      endpointsFor(c, parseRegistryReference('blocked.example/x'), false);
    } catch (error) {
      caught = error;
    }
    expect((caught as EnvlockError).code).toBe('REGISTRY_DENIED');
    expect((caught as EnvlockError).message).toMatch(/blocked\.example is blocked for blocked\.example\/x:latest/);
  });
});

describe('Docker Hub names', () => {
  const show = (eps: ReturnType<typeof endpointsFor>) => eps.map((e) => `${e.scheme}://${e.host}/${e.repository}${e.mirror ? ' (mirror)' : ''}`);

  // docker, containerd, podman and skopeo all send docker.io's API to the Hub's registry host.
  it('connects to the Hub API host for docker.io names and keeps docker.io in the reference', () => {
    for (const written of ['python:3.12', 'docker.io/python:3.12', 'index.docker.io/library/python:3.12']) {
      const ref = parseRegistryReference(written);
      expect(ref.canonical()).toBe('docker.io/library/python:3.12');
      expect(show(endpointsFor({ unqualifiedSearchRegistries: [], registries: [], files: [] }, ref, false))).toEqual([`https://${DOCKER_HUB_API_HOST}/library/python`]);
    }
    const twoPart = parseRegistryReference('rocker/r-ver:4.4');
    expect(twoPart.canonical()).toBe('docker.io/rocker/r-ver:4.4');
    expect(show(endpointsFor({ unqualifiedSearchRegistries: [], registries: [], files: [] }, twoPart, false))).toEqual([`https://${DOCKER_HUB_API_HOST}/rocker/r-ver`]);
  });

  it('tries a registries.conf mirror for docker.io first, with the library/ path, then the Hub', async () => {
    const file = write('hub.conf', '[[registry]]\nprefix = "docker.io"\nlocation = "docker.io"\n\n[[registry.mirror]]\nlocation = "127.0.0.1:5999/hub"\n');
    const c = await loadRegistryConfig({ env: { CONTAINERS_REGISTRIES_CONF: file }, home: dir });
    expect(show(endpointsFor(c, parseRegistryReference('python:3.12'), false))).toEqual([
      'http://127.0.0.1:5999/hub/library/python (mirror)',
      `https://${DOCKER_HUB_API_HOST}/library/python`,
    ]);
  });

  it('keeps the name of a registry that only resembles the Hub', () => {
    const ref = parseRegistryReference('mirror.docker.io.example/library/python');
    expect(endpointsFor({ unqualifiedSearchRegistries: [], registries: [], files: [] }, ref, false)[0]!.host).toBe('mirror.docker.io.example');
  });
});

