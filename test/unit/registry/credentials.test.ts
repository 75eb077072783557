// Credential lookup in auth.json / config.json files and through credential helpers.

import { DOCKER_HUB_API_HOST } from '../../../core/registry/docker-hub.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EnvlockError } from '../../../core/errors.js';
import { findCredentials, lookupKeys, normaliseAuthKey } from '../../../core/registry/credentials.js';
import { runCredentialHelper } from '../../../core/registry/cred-helper.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'envlock-creds-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const b64 = (s: string) => Buffer.from(s).toString('base64');

function write(rel: string, value: unknown): string {
  const file = path.join(dir, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

/** A fake docker-credential-NAME that answers for one server URL and logs what it was asked. */
function fakeHelper(name: string, body: string): string {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  const script = path.join(bin, `docker-credential-${name}`);
  fs.writeFileSync(script, `#!/bin/sh\nread server\necho "$1 $server" >> "${path.join(dir, `${name}.log`)}"\n${body}\n`, { mode: 0o755 });
  return bin;
}

describe('key matching', () => {
  it('normalises URL keys to hosts and keeps namespaced keys', () => {
    expect(normaliseAuthKey('https://index.docker.io/v1/')).toBe('docker.io');
    expect(normaliseAuthKey('https://reg.example:5000')).toBe('reg.example:5000');
    expect(normaliseAuthKey('http://reg.example/v2/')).toBe('reg.example');
    expect(normaliseAuthKey('reg.example/team')).toBe('reg.example/team');
    expect(lookupKeys('reg.example', 'a/b')).toEqual(['reg.example/a/b', 'reg.example/a', 'reg.example']);
  });
});

describe('findCredentials', () => {
  it('reads $REGISTRY_AUTH_FILE and uses the longest matching key', async () => {
    const file = write('auth.json', {
      auths: {
        'reg.example': { auth: b64('host-user:host:pass') },
        'reg.example/team': { auth: b64('team-user:team-pass') },
      },
    });
    const ctx = { env: { REGISTRY_AUTH_FILE: file }, home: dir };
    expect(await findCredentials(ctx, 'reg.example', 'team/app')).toEqual({ kind: 'basic', username: 'team-user', password: 'team-pass', source: file });
    // The password keeps its colons: split at the first one only.
    expect(await findCredentials(ctx, 'reg.example', 'other/app')).toEqual({ kind: 'basic', username: 'host-user', password: 'host:pass', source: file });
    expect(await findCredentials(ctx, 'else.example', 'x')).toBeUndefined();
  });

  it('consults the runtime dir, the containers file, then docker config in order', async () => {
    const docker = write('.docker/config.json', { auths: { 'https://reg.example/v1/': { auth: b64('docker:d') }, 'only-docker.example': { identitytoken: 'tok' } } });
    const podman = write('.config/containers/auth.json', { auths: { 'reg.example': { auth: b64('podman:p') } } });
    const runtime = write('run/containers/auth.json', { auths: { 'runtime.example': { auth: b64('rt:r') } } });
    const ctx = { env: { XDG_RUNTIME_DIR: path.join(dir, 'run') }, home: dir };
    expect(await findCredentials(ctx, 'reg.example', 'x')).toMatchObject({ username: 'podman', source: podman });
    expect(await findCredentials(ctx, 'runtime.example', 'x')).toMatchObject({ username: 'rt', source: runtime });
    expect(await findCredentials(ctx, 'only-docker.example', 'x')).toEqual({ kind: 'identity-token', token: 'tok', source: docker });
  });

  it('maps Docker Hub keys to docker.io', async () => {
    write('.docker/config.json', { auths: { 'https://index.docker.io/v1/': { auth: b64('hub:h') } } });
    expect(await findCredentials({ env: {}, home: dir }, 'docker.io', 'library/ubuntu')).toMatchObject({ username: 'hub' });
    // Requests go to the Hub's API host; a `docker login` still counts there.
    expect(await findCredentials({ env: {}, home: dir }, DOCKER_HUB_API_HOST, 'library/ubuntu')).toMatchObject({ username: 'hub' });
  });

  it('reports a broken file as CONFIG_INVALID', async () => {
    const file = write('auth.json', '{not json');
    const error = await findCredentials({ env: { REGISTRY_AUTH_FILE: file }, home: dir }, 'a.example', 'b').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EnvlockError);
    expect((error as EnvlockError).code).toBe('CONFIG_INVALID');
    expect((error as EnvlockError).message).toContain(file);
  });

  it('runs credHelpers for the host and credsStore otherwise', async () => {
    const bin = fakeHelper('test', 'if [ "$server" = "reg.example:5000" ]; then echo \'{"ServerURL":"reg.example:5000","Username":"helper-user","Secret":"helper-secret"}\'; else echo "credentials not found in native keychain"; exit 1; fi');
    fakeHelper('store', 'echo \'{"Username":"<token>","Secret":"id-token"}\'');
    const file = write('.docker/config.json', { credHelpers: { 'reg.example:5000': 'test' }, credsStore: 'store' });
    const ctx = { env: { PATH: `${bin}:/usr/bin:/bin` }, home: dir };
    expect(await findCredentials(ctx, 'reg.example:5000', 'a/b')).toEqual({
      kind: 'basic', username: 'helper-user', password: 'helper-secret', source: `docker-credential-test (${file})`,
    });
    expect(fs.readFileSync(path.join(dir, 'test.log'), 'utf8')).toBe('get reg.example:5000\n');
    expect(await findCredentials(ctx, 'other.example', 'x')).toEqual({ kind: 'identity-token', token: 'id-token', source: `docker-credential-store (${file})` });
  });

  it('treats a failing or missing helper as no credentials and falls back to auths', async () => {
    const bin = fakeHelper('broken', 'exit 1');
    write('.docker/config.json', { credsStore: 'broken', credHelpers: { 'x.example': 'absent' }, auths: { 'reg.example': { auth: b64('file:f') } } });
    const ctx = { env: { PATH: `${bin}:/usr/bin:/bin` }, home: dir };
    expect(await findCredentials(ctx, 'reg.example', 'r')).toMatchObject({ username: 'file' });
    expect(await findCredentials(ctx, 'x.example', 'r')).toBeUndefined();
  });
});

describe('runCredentialHelper', () => {
  it('gives up after its timeout', async () => {
    const bin = fakeHelper('slow', 'sleep 5; echo \'{"Username":"u","Secret":"s"}\'');
    const started = Date.now();
    expect(await runCredentialHelper('slow', 'h', { PATH: bin + ':/usr/bin:/bin' }, 300)).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('ignores output that is not the expected JSON, and odd helper names', async () => {
    const bin = fakeHelper('junk', 'echo hello');
    expect(await runCredentialHelper('junk', 'h', { PATH: bin })).toBeUndefined();
    expect(await runCredentialHelper('../evil', 'h', { PATH: bin })).toBeUndefined();
  });
});
