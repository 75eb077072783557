// `envlock pull` end to end: the rootfs holds exactly the image's bytes, from a registry or an
// OCI layout alike; a second pull touches nothing; the store is shared; nobody can pull too.

import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { makeTempDir, removeTempDirs, runCli } from '../../helpers/cli.js';
import { startFaultProxy } from '../../helpers/fault-proxy.js';
import { lockedProject } from './pull-helpers.js';

const registry = inject('registry');
const images = inject('testImages');
afterAll(() => removeTempDirs());

interface PullJson {
  ok: boolean;
  result: { store: string; environments: { rootfs: string; unpacked: boolean; downloaded: string[]; manifest: string }[] };
}

describe('envlock pull', () => {
  it('yields a rootfs whose /bin/busybox is byte-identical to the source, and a warm pull fetches nothing', async () => {
    const proxy = await startFaultProxy(registry);
    try {
      const dir = await lockedProject(`${proxy.host}/busybox:latest`, { platforms: '[linux/amd64, linux/arm64]' });
      const store = join(makeTempDir('store'), 's');
      const first = await runCli(['pull', '--json'], { cwd: dir, env: { ENVLOCK_STORE: store } });
      expect(first.code).toBe(0);
      const pulled = first.json<PullJson>().result.environments[0]!;
      expect(pulled.manifest).toBe(images.busyboxAmd64);
      expect(pulled.unpacked).toBe(true);
      expect(readFileSync(join(pulled.rootfs, 'bin/busybox')).equals(readFileSync('/bin/busybox'))).toBe(true);
      expect(readFileSync(join(pulled.rootfs, 'etc/os-release'), 'utf8')).toContain('ID=envlock-test');
      // Nothing in the store is writable by anyone, and the rootfs is read-only to its owner too.
      expect(statSync(pulled.rootfs).mode & 0o222).toBe(0);
      expect(statSync(join(pulled.rootfs, 'bin/busybox')).mode & 0o222).toBe(0);
      proxy.requests.length = 0;
      const second = await runCli(['pull', '--json'], { cwd: dir, env: { ENVLOCK_STORE: store } });
      expect(second.code).toBe(0);
      expect(second.json<PullJson>().result.environments[0]!.unpacked).toBe(false);
      expect(proxy.requests).toEqual([]);
    } finally {
      await proxy.stop();
    }
  });

  it('gives the same rootfs tree digest from an OCI layout as from the registry', async () => {
    const layout = makeTempDir('layout');
    execFileSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', '--all', `docker://${registry}/busybox:latest`, `oci:${layout}:latest`]);
    const fromRegistry = await lockedProject(`${registry}/busybox:latest`);
    const fromLayout = await lockedProject(`oci:${layout}:latest`);
    const storeA = join(makeTempDir('store'), 'a');
    const storeB = join(makeTempDir('store'), 'b');
    const a = await runCli(['pull', '--json'], { cwd: fromRegistry, env: { ENVLOCK_STORE: storeA } });
    const b = await runCli(['--offline', 'pull', '--json'], { cwd: fromLayout, env: { ENVLOCK_STORE: storeB } });
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    const metaOf = (store: string) => {
      const dir = join(store, 'rootfs', 'sha256');
      const file = readdirSync(dir).find((f) => f.endsWith('.json'))!;
      return JSON.parse(readFileSync(join(dir, file), 'utf8')) as { treeDigest: string };
    };
    expect(metaOf(storeA).treeDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(metaOf(storeA).treeDigest).toBe(metaOf(storeB).treeDigest);
  });

  it('never downloads what a read-only store already has, and never writes to it', async () => {
    const dir = await lockedProject(`${registry}/layered:latest`);
    const site = join(makeTempDir('site'), 'ro');
    expect((await runCli(['pull'], { cwd: dir, env: { ENVLOCK_STORE: site } })).code).toBe(0);
    execFileSync('chmod', ['-R', 'a-w', site]);
    const before = execFileSync('find', [site, '-printf', '%p %s %T@\\n'], { encoding: 'utf8' });
    const proxyless = join(makeTempDir('store'), 'user');
    const result = await runCli(['--offline', 'pull', '--json'], { cwd: dir, env: { ENVLOCK_STORE: proxyless, ENVLOCK_STORE_RO: site } });
    expect(result.stderr).not.toMatch(/error|warning/i);
    expect(result.code).toBe(0);
    expect(result.json<PullJson>().result.environments[0]!.rootfs.startsWith(site)).toBe(true);
    expect(execFileSync('find', [site, '-printf', '%p %s %T@\\n'], { encoding: 'utf8' })).toBe(before);
    execFileSync('chmod', ['-R', 'u+w', site]);
  });

  it('applies whiteouts and opaque directories of a two-layer image', async () => {
    const dir = await lockedProject(`${registry}/layered:latest`);
    const result = await runCli(['pull', '--json'], { cwd: dir });
    expect(result.code).toBe(0);
    const rootfs = result.json<PullJson>().result.environments[0]!.rootfs;
    expect(readdirSync(join(rootfs, 'opt/data'))).toEqual(['new.txt']);
    expect(readFileSync(join(rootfs, 'opt/keep.txt'), 'utf8')).toBe('keep\n');
    expect(() => statSync(join(rootfs, 'etc/hostname'))).toThrow();
    expect(readFileSync(join(rootfs, 'usr/bin/hello'), 'utf8')).toContain('hello from layer 2');
  });

  it('unpacks a zstd-compressed layer', async () => {
    const dir = await lockedProject(`${registry}/zstd:latest`);
    const result = await runCli(['pull', '--json'], { cwd: dir });
    expect(result.stderr).not.toMatch(/error|warning/i);
    expect(result.code).toBe(0);
    const rootfs = result.json<PullJson>().result.environments[0]!.rootfs;
    expect(readFileSync(join(rootfs, 'bin/busybox')).equals(readFileSync('/bin/busybox'))).toBe(true);
  });

  it('works for an unprivileged user with their own store', async () => {
    const dir = await lockedProject(`${registry}/busybox:latest`, { forUser: 'nobody' });
    const store = join(makeTempDir('store', { forUser: 'nobody' }), 'nobody');
    const result = await runCli(['pull', '--json'], { cwd: dir, asUser: 'nobody', env: { ENVLOCK_STORE: store } });
    expect(result.stderr).not.toMatch(/error|warning/i);
    expect(result.code).toBe(0);
    const rootfs = result.json<PullJson>().result.environments[0]!.rootfs;
    expect(statSync(rootfs).uid).toBe(65534);
    expect(readFileSync(join(rootfs, 'bin/busybox')).equals(readFileSync('/bin/busybox'))).toBe(true);
  });

  it('refuses a stale lock with exit 3 and pulls it anyway with --frozen', async () => {
    const dir = await lockedProject(`${registry}/busybox:latest`);
    execFileSync('sed', ['-i', 's/busybox:latest/busybox:amd64/', join(dir, 'envlock.yaml')]);
    const stale = await runCli(['pull'], { cwd: dir });
    expect(stale.code).toBe(3);
    expect(stale.stderr).toContain('out of date');
    expect((await runCli(['pull', '--frozen'], { cwd: dir })).code).toBe(0);
  });
});

describe('envlock pull then run, on the variant this CPU gets', () => {
  // Regression: pull read /proc/cpuinfo and chose v2 of a v2/v3/v4 index where CPUID (and
  // glibc) allow more, so `run --offline` asked for a variant that was never pulled.
  it('pulls exactly the variant run then enters offline', async () => {
    const dir = await lockedProject(`${registry}/variants:latest`);
    const store = join(makeTempDir('store'), 's');
    const pulled = await runCli(['pull', '--json'], { cwd: dir, env: { ENVLOCK_STORE: store } });
    expect(pulled.code).toBe(0);
    const manifest = pulled.json<PullJson>().result.environments[0]!.manifest;
    expect([images.variantV2, images.variantV3, images.variantV4]).toContain(manifest);
    const ran = await runCli(['--offline', 'run', 'e', '--', 'sh', '-c', 'echo $ENVLOCK_MANIFEST'], { cwd: dir, env: { ENVLOCK_STORE: store } });
    expect(ran.stderr).toBe('');
    expect(ran.stdout.trim()).toBe(manifest);
  });
});
