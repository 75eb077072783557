// `envlock lock` end to end against the real registry: digests agree with skopeo, re-locking is
// byte-identical, variants and CPU minimums, --check, --update and digest pins.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { makeTempDir, removeTempDirs, runCli } from '../../helpers/cli.js';
import { startFaultProxy } from '../../helpers/fault-proxy.js';

const registry = inject('registry');
const images = inject('testImages');

afterAll(() => removeTempDirs());

function project(yaml: string): string {
  const dir = makeTempDir('lock');
  writeFileSync(join(dir, 'envlock.yaml'), yaml);
  return dir;
}

function skopeoRaw(ref: string): string {
  return execFileSync('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${ref}`]).toString();
}

function sha256sum(text: string): string {
  return `sha256:${execFileSync('sha256sum', { input: text }).toString().split(' ')[0]}`;
}

describe('envlock lock', () => {
  it('records the index and per-platform manifest digests that skopeo sees', async () => {
    const dir = project(`version: 1\nenvironments:\n  bb:\n    image: ${registry}/busybox:latest\n    platforms: [linux/amd64, linux/arm64]\n`);
    const result = await runCli(['lock', '--json'], { cwd: dir });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const raw = skopeoRaw(`${registry}/busybox:latest`);
    const index = JSON.parse(raw) as { manifests: { digest: string; platform: { architecture: string } }[] };
    const lock = readFileSync(join(dir, 'envlock.lock'), 'utf8');
    expect(lock).toContain(`digest = "${sha256sum(raw)}"`);
    expect(sha256sum(raw)).toBe(images.busybox);
    for (const entry of index.manifests) expect(lock).toContain(`digest = "${entry.digest}"`);
    expect(lock).toContain('platform = "linux/amd64/v1"');
    expect(lock).toContain('platform = "linux/arm64/v8"');
    const envelope = result.json<{ ok: boolean; result: { environments: { name: string; change: string }[] } }>();
    expect(envelope.ok).toBe(true);
    expect(envelope.result.environments).toEqual([expect.objectContaining({ name: 'bb', change: 'added' })]);
  });

  it('re-locks an unchanged declaration to byte-identical output, and --check agrees', async () => {
    const dir = project(`version: 1\nenvironments:\n  bb:\n    image: ${registry}/busybox:latest\n    platforms: [linux/amd64]\n`);
    expect((await runCli(['lock'], { cwd: dir })).code).toBe(0);
    const first = readFileSync(join(dir, 'envlock.lock'));
    const again = await runCli(['lock'], { cwd: dir });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/bb\s+linux\/amd64\/v1\s+[0-9a-f]{12}\s+unchanged/);
    expect(readFileSync(join(dir, 'envlock.lock')).equals(first)).toBe(true);
    const check = await runCli(['lock', '--check'], { cwd: dir });
    expect(check.code).toBe(0);
  });

  it('--check exits 3 with the reasons and writes nothing when the declaration moved on', async () => {
    const dir = project(`version: 1\nenvironments:\n  bb:\n    image: ${registry}/busybox:latest\n    platforms: [linux/amd64]\n`);
    expect((await runCli(['lock'], { cwd: dir })).code).toBe(0);
    const before = readFileSync(join(dir, 'envlock.lock'));
    writeFileSync(join(dir, 'envlock.yaml'), `version: 1\nenvironments:\n  bb:\n    image: ${registry}/busybox:amd64\n    platforms: [linux/amd64]\n  extra:\n    image: ${registry}/busybox:latest\n`);
    const check = await runCli(['lock', '--check', '--json'], { cwd: dir });
    expect(check.code).toBe(3);
    const error = check.json<{ ok: false; error: { code: string; message: string; exitCode: number } }>().error;
    expect(error.code).toBe('LOCK_STALE');
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain('environment `extra` was added');
    expect(error.message).toContain(`image of \`bb\` changed from ${registry}/busybox:latest to ${registry}/busybox:amd64`);
    expect(readFileSync(join(dir, 'envlock.lock')).equals(before)).toBe(true);
  });

  it('locks every amd64 variant with its level and features, and a cpu minimum filters them', async () => {
    const all = project(`version: 1\nenvironments:\n  v:\n    image: ${registry}/variants:latest\n    platforms: [linux/amd64]\n`);
    expect((await runCli(['lock'], { cwd: all })).code).toBe(0);
    const lock = readFileSync(join(all, 'envlock.lock'), 'utf8');
    for (const digest of [images.variantV2, images.variantV3, images.variantV4]) expect(lock).toContain(digest);
    expect(lock).toContain('level = "x86-64-v4"');
    expect(lock).toMatch(/features = \[[^\]]*"avx512f"/);
    const min = project(`version: 1\nenvironments:\n  v:\n    image: ${registry}/variants:latest\n    platforms: [linux/amd64]\n    cpu: x86-64-v3\n`);
    expect((await runCli(['lock'], { cwd: min })).code).toBe(0);
    const filtered = readFileSync(join(min, 'envlock.lock'), 'utf8');
    expect(filtered).not.toContain(images.variantV2);
    expect(filtered).toContain(images.variantV3);
    expect(filtered).toContain('cpu = "x86-64-v3"');
  });

  it('--update re-resolves only the named environment and keeps the others as they were', async () => {
    const proxy = await startFaultProxy(registry);
    try {
      const dir = project(`version: 1\nenvironments:\n  a:\n    image: ${proxy.host}/busybox:latest\n    platforms: [linux/amd64]\n  b:\n    image: ${proxy.host}/variants:latest\n    platforms: [linux/amd64]\n`);
      expect((await runCli(['lock'], { cwd: dir })).code).toBe(0);
      proxy.requests.length = 0;
      const result = await runCli(['lock', '--update', 'a'], { cwd: dir });
      expect(result.code).toBe(0);
      expect(proxy.requests.some((r) => r.path.includes('/busybox/'))).toBe(true);
      expect(proxy.requests.some((r) => r.path.includes('/variants/'))).toBe(false);
      const unknown = await runCli(['lock', '--update', 'c'], { cwd: dir });
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('There is no environment `c`');
    } finally {
      await proxy.stop();
    }
  });

  it('re-locking fetches the index and manifests again but not a config this version already checked', async () => {
    const proxy = await startFaultProxy(registry);
    try {
      const dir = project(`version: 1\nenvironments:\n  bb:\n    image: ${proxy.host}/busybox:latest\n    platforms: [linux/amd64]\n`);
      expect((await runCli(['lock'], { cwd: dir })).code).toBe(0);
      const lockFile = join(dir, 'envlock.lock');
      const first = readFileSync(lockFile, 'utf8');
      const blobs = () => proxy.requests.filter((r) => r.method === 'GET' && r.path.includes('/blobs/')).map((r) => r.path);
      const manifests = () => proxy.requests.filter((r) => r.method === 'GET' && r.path.includes('/manifests/')).length;
      expect(blobs()).toHaveLength(1);
      proxy.requests.length = 0;
      const again = await runCli(['lock'], { cwd: dir });
      expect(again.code).toBe(0);
      expect(manifests()).toBe(2);
      expect(blobs()).toEqual([]);
      expect(readFileSync(lockFile, 'utf8')).toBe(first);
      // A lock another version wrote is checked again in full.
      writeFileSync(lockFile, first.replace(/^envlock-version = ".*"$/m, 'envlock-version = "0.0.1-older"'));
      proxy.requests.length = 0;
      expect((await runCli(['lock'], { cwd: dir })).code).toBe(0);
      expect(blobs()).toHaveLength(1);
      expect(readFileSync(lockFile, 'utf8')).toBe(first);
    } finally {
      await proxy.stop();
    }
  });

  it('verifies an image given by digest once and then never asks the registry again', async () => {
    const proxy = await startFaultProxy(registry);
    try {
      const dir = project(`version: 1\nenvironments:\n  pinned:\n    image: ${proxy.host}/busybox@${images.busyboxAmd64}\n    platforms: [linux/amd64]\n`);
      expect((await runCli(['lock'], { cwd: dir })).code).toBe(0);
      expect(proxy.requests.length).toBeGreaterThan(0);
      proxy.requests.length = 0;
      expect((await runCli(['lock'], { cwd: dir })).code).toBe(0);
      expect(proxy.requests).toEqual([]);
    } finally {
      await proxy.stop();
    }
  });

  it('locks a local OCI layout with --offline', async () => {
    const layout = makeTempDir('layout');
    execFileSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', '--all', `docker://${registry}/busybox:latest`, `oci:${layout}:latest`]);
    const dir = project(`version: 1\nenvironments:\n  local:\n    image: oci:${layout}:latest\n    platforms: [linux/amd64, linux/arm64]\n`);
    const result = await runCli(['--offline', 'lock'], { cwd: dir });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lock = readFileSync(join(dir, 'envlock.lock'), 'utf8');
    expect(lock).toContain(images.busybox);
    expect(lock).toContain(images.busyboxAmd64);
  });
});
