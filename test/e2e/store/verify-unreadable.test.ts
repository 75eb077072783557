// `envlock verify` by a user who cannot read every file of an image in a site store (a Debian
// image's /etc/shadow): not damage, but named as not checked with why; everything readable is
// still compared, so a changed readable file is damage; root (the store's owner) checks it all.

import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeTempDir, removeTempDirs, runCli } from '../../helpers/cli.js';
import { busyboxEntries } from '../../helpers/busybox-layer.js';
import { buildImage } from '../../helpers/image-builder.js';
import { pushImage } from '../../helpers/registry-push.js';
import { tarEntries } from '../../helpers/tar-writer.js';

const registry = inject('registry');
let project: string;
let site: string;
let rootfs: string;

interface VerifyJson {
  ok: boolean;
  result?: { damaged: unknown[]; unchecked: { path: string; reason: string }[] };
  error?: { code: string; message: string };
}

beforeAll(async () => {
  const layer = tarEntries([
    ...busyboxEntries(),
    { path: 'etc/shadow', type: 'file', mode: 0o640, content: 'root:*:19000:0:99999:7:::\n' },
    { path: 'etc/os-release', type: 'file', mode: 0o644, content: 'ID=shadowed\n' },
    { path: 'root/', type: 'dir', mode: 0o700 },
    { path: 'root/.profile', type: 'file', mode: 0o600, content: 'umask 077\n' },
  ]);
  const image = buildImage({ layers: [layer], platform: { os: 'linux', architecture: 'amd64' }, createdBy: `unreadable-${Date.now()}` });
  await pushImage(registry, 'unreadable', 'latest', image);
  project = makeTempDir('verify-unreadable');
  chmodSync(project, 0o755);
  writeFileSync(join(project, 'envlock.yaml'), `version: 1\nenvironments:\n  deb:\n    image: ${registry}/unreadable:latest\n    platforms: [linux/amd64]\n`);
  expect((await runCli(['lock'], { cwd: project })).code).toBe(0);
  // The site store: pulled by its owner (root), read by everyone.
  const siteParent = makeTempDir('site');
  chmodSync(siteParent, 0o755);
  site = join(siteParent, 'store');
  const pulled = await runCli(['pull', '--json'], { cwd: project, env: { ENVLOCK_STORE: site } });
  expect(pulled.code, pulled.stderr).toBe(0);
  rootfs = pulled.json<{ result: { environments: { rootfs: string }[] } }>().result.environments[0]!.rootfs;
}, 120_000);
afterAll(() => removeTempDirs());

const asNobody = () => runCli(['verify', '--json'], { cwd: project, asUser: 'nobody', env: { ENVLOCK_STORE_RO: site } });

describe('verify by a user who cannot read some files', () => {
  it('checks the rest, names what it could not check and why, and exits 0', async () => {
    const result = await asNobody();
    expect(result.code, result.stdout).toBe(0);
    const unchecked = result.json<VerifyJson>().result!.unchecked;
    expect(unchecked.map((u) => u.path)).toEqual(expect.arrayContaining(['etc/shadow', 'root/']));
    expect(unchecked.find((u) => u.path === 'etc/shadow')!.reason).toBe('permission denied');
    const text = await runCli(['verify'], { cwd: project, asUser: 'nobody', env: { ENVLOCK_STORE_RO: site } });
    expect(text.stdout).toMatch(/Not checked in rootfs \S+: etc\/shadow \(permission denied\)/);
    expect(text.stdout).toContain(`run \`envlock verify\` as the owner of ${site}`);
  });

  it('checks every file as the store\'s owner', async () => {
    const result = await runCli(['verify', '--json'], { cwd: project, env: { ENVLOCK_STORE_RO: site } });
    expect(result.code).toBe(0);
    expect(result.json<VerifyJson>().result!.unchecked).toEqual([]);
  });

  it('still calls a changed readable file damage, and names it', async () => {
    const file = join(rootfs, 'etc', 'os-release');
    const before = readFileSync(file);
    chmodSync(file, 0o644);
    writeFileSync(file, 'ID=tampered\n');
    chmodSync(file, 0o444);
    try {
      const result = await asNobody();
      expect(result.code).toBe(1);
      const error = result.json<VerifyJson>().error!;
      expect(error.code).toBe('STORE_DAMAGED');
      expect(error.message).toContain('etc/os-release');
      expect(error.message).not.toContain('etc/shadow');
    } finally {
      chmodSync(file, 0o644);
      writeFileSync(file, before);
      chmodSync(file, 0o444);
    }
  });
});
