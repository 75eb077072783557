// Every way `envlock lock` can fail against a registry: its own code, one sentence naming the
// reference and registry, the documented exit status, and an existing envlock.lock untouched.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeTempDir, removeTempDirs, runCli } from '../../helpers/cli.js';
import { freePort, startRegistry, type RunningRegistry } from '../../helpers/registry.js';
import { startFaultProxy } from '../../helpers/fault-proxy.js';

const registry = inject('registry');
let authRegistry: RunningRegistry;

beforeAll(async () => {
  authRegistry = await startRegistry({ auth: 'htpasswd' });
});
afterAll(async () => {
  await authRegistry.stop();
  removeTempDirs();
});

/** A project with a good lock, whose declaration is then changed to `image`. */
async function lockedProject(image: string, platforms = '[linux/amd64]'): Promise<{ dir: string; lock: Buffer }> {
  const dir = makeTempDir('faults');
  writeFileSync(join(dir, 'envlock.yaml'), `version: 1\nenvironments:\n  e:\n    image: ${registry}/busybox:latest\n    platforms: [linux/amd64]\n`);
  const first = await runCli(['lock'], { cwd: dir });
  expect(first.code).toBe(0);
  writeFileSync(join(dir, 'envlock.yaml'), `version: 1\nenvironments:\n  e:\n    image: ${image}\n    platforms: ${platforms}\n`);
  return { dir, lock: readFileSync(join(dir, 'envlock.lock')) };
}

async function expectFailure(dir: string, lock: Buffer, code: string, exit: number, ...phrases: string[]) {
  const result = await runCli(['lock', '--json'], { cwd: dir });
  expect(result.code).toBe(exit);
  const error = result.json<{ ok: boolean; error: { code: string; message: string; hint?: string } }>().error;
  expect(error.code).toBe(code);
  for (const phrase of phrases) expect(error.message).toContain(phrase);
  expect(readFileSync(join(dir, 'envlock.lock')).equals(lock)).toBe(true);
  const human = await runCli(['lock'], { cwd: dir });
  expect(human.stderr).toMatch(/^error: /);
  expect(human.stderr).not.toMatch(/\n\s+at /);
}

describe('envlock lock failures', () => {
  it('an unreachable registry: REGISTRY_UNREACHABLE', async () => {
    const port = await freePort();
    const { dir, lock } = await lockedProject(`127.0.0.1:${port}/busybox:latest`);
    await expectFailure(dir, lock, 'REGISTRY_UNREACHABLE', 1, `127.0.0.1:${port}`);
  });

  it('a tag that does not exist: REGISTRY_NOT_FOUND', async () => {
    const { dir, lock } = await lockedProject(`${registry}/busybox:no-such-tag`);
    await expectFailure(dir, lock, 'REGISTRY_NOT_FOUND', 1, 'no-such-tag');
  });

  it('a registry that wants credentials we do not have: REGISTRY_AUTH', async () => {
    const { dir, lock } = await lockedProject(`${authRegistry.host}/busybox:latest`);
    await expectFailure(dir, lock, 'REGISTRY_AUTH', 1, authRegistry.host);
  });

  it('an index with no manifest for a declared platform: PLATFORM_UNAVAILABLE listing the offers', async () => {
    const { dir, lock } = await lockedProject(`${registry}/busybox:latest`, '[linux/s390x]');
    await expectFailure(dir, lock, 'PLATFORM_UNAVAILABLE', 1, 'linux/s390x', 'linux/amd64', 'linux/arm64');
  });

  it('a declaration naming an unknown platform: PLATFORM_INVALID', async () => {
    const { dir, lock } = await lockedProject(`${registry}/busybox:latest`, '[linux/amd46]');
    await expectFailure(dir, lock, 'PLATFORM_INVALID', 1, 'amd46');
  });

  it('manifest bytes that do not match their digest: DIGEST_MISMATCH', async () => {
    const proxy = await startFaultProxy(registry, [{ method: 'GET', path: /\/manifests\//, action: { kind: 'corrupt' } }]);
    try {
      const { dir, lock } = await lockedProject(`${proxy.host}/busybox:latest`);
      await expectFailure(dir, lock, 'DIGEST_MISMATCH', 1, 'busybox');
    } finally {
      await proxy.stop();
    }
  });

  it('a truncated manifest body is an error, never a lock', async () => {
    const proxy = await startFaultProxy(registry, [{ method: 'GET', path: /\/manifests\//, action: { kind: 'truncate' } }]);
    try {
      const { dir, lock } = await lockedProject(`${proxy.host}/busybox:latest`);
      const result = await runCli(['lock', '--json'], { cwd: dir });
      expect(result.code).toBe(1);
      expect(result.json<{ ok: boolean }>().ok).toBe(false);
      expect(readFileSync(join(dir, 'envlock.lock')).equals(lock)).toBe(true);
    } finally {
      await proxy.stop();
    }
  });

  it('a malformed declaration is one readable error, no stack trace', async () => {
    const dir = makeTempDir('bad-decl');
    writeFileSync(join(dir, 'envlock.yaml'), 'version: 1\nenvironments:\n  e:\n    imgae: x\n');
    const result = await runCli(['lock'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('imgae');
    expect(result.stderr).toContain('image');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
