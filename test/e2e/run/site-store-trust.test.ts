// Read-only site stores and what a store entry must prove, as root and as nobody: an entry is
// used only when its meta record names the lock's layers (issue 12.1, lookup side), and a
// read-only store only when nobody but root, the caller or a named site account can change it
// (12.7). The prepared-run cache re-checks both; nothing here is allowed to run a planted image.

import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeTempDir, removeTempDirs } from '../../helpers/cli.js';
import { CALLERS, pulledProject, run, type RunProject } from './run-helpers.js';

const registry = inject('registry');
afterAll(() => removeTempDirs());

interface ErrorOut { error: { code: string; message: string; hint: string } }

describe.each(CALLERS)('a read-only site store, as $name', (caller) => {
  let project: RunProject;
  let site: string;
  let hex: string;
  const writableRootfs = () => join(project.env.ENVLOCK_STORE!, 'rootfs', 'sha256');
  const siteRun = (args: string[], env: Record<string, string> = {}) => run(project, args, { env: { ENVLOCK_STORE_RO: site, ...env } });
  const moveOwnImageAside = () => execFileSync('sh', ['-c', `chmod u+w "$1/${hex}" && mv "$1/${hex}" "$1/.aside-${hex}" && mv "$1/${hex}.json" "$1/.aside-${hex}.json"`, 'sh', writableRootfs()]);
  const bringOwnImageBack = () => execFileSync('sh', ['-c', `mv "$1/.aside-${hex}" "$1/${hex}" && mv "$1/.aside-${hex}.json" "$1/${hex}.json"`, 'sh', writableRootfs()]);

  beforeAll(async () => {
    project = await pulledProject(caller, `version: 1\nenvironments:\n  bb:\n    image: ${registry}/busybox:latest\n    platforms: [linux/amd64]\n`);
    hex = readdirSync(writableRootfs()).find((n) => /^[a-f0-9]{64}$/.test(n))!;
    // The site store an administrator filled: owned by root, closed to everyone else's writes.
    site = makeTempDir('site');
    chmodSync(site, 0o755);
    mkdirSync(join(site, 'rootfs', 'sha256'), { recursive: true, mode: 0o755 });
    cpSync(join(project.env.ENVLOCK_STORE!, 'layout-version'), join(site, 'layout-version'));
    execFileSync('cp', ['-a', join(writableRootfs(), hex), join(site, 'rootfs', 'sha256', hex)]);
    cpSync(join(writableRootfs(), `${hex}.json`), join(site, 'rootfs', 'sha256', `${hex}.json`));
    execFileSync('chown', ['-R', '0:0', site]);
    moveOwnImageAside();
  });
  afterAll(() => bringOwnImageBack());

  it('is used when only root can change it, with nothing downloaded', async () => {
    const result = await siteRun(['--offline', 'run', '--', 'sh', '-c', 'echo from-site']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('from-site\n');
    const plan = await siteRun(['--offline', 'run', '--dry-run', '--json', '--', 'true']);
    expect(plan.json<{ result: { rootfs: string } }>().result.rootfs).toBe(join(site, 'rootfs', 'sha256', hex));
  });

  it('is refused once other users can write a directory on the way to the image, even after a cached run', async () => {
    expect((await siteRun(['--offline', 'run', '--', 'true'])).code).toBe(0);
    chmodSync(join(site, 'rootfs'), 0o775);
    try {
      const result = await siteRun(['--offline', 'run', '--json', '--', 'echo', 'ran']);
      expect(result.stdout).not.toContain('ran');
      expect(result.code).toBe(1);
      const { error } = result.json<ErrorOut>();
      expect(error.code).toBe('STORE_UNTRUSTED');
      expect(error.message).toBe(`The read-only store ${site} is not used for sha256:${hex}: ${join(site, 'rootfs')} is writable by its group (mode 0775), so other users could change the image.`);
      expect(error.hint).toContain(`chmod -R go-w ${site}`);
    } finally {
      chmodSync(join(site, 'rootfs'), 0o755);
    }
  });

  it('is refused when another user owns it, unless ENVLOCK_TRUSTED_UIDS names that account', async () => {
    execFileSync('chown', ['-R', '4242:4242', site]);
    try {
      const refused = await siteRun(['--offline', 'run', '--json', '--', 'true']);
      expect(refused.json<ErrorOut>().error).toMatchObject({ code: 'STORE_UNTRUSTED', message: expect.stringContaining(`${site} belongs to uid 4242`) });
      const trusted = await siteRun(['--offline', 'run', '--', 'echo', 'ok'], { ENVLOCK_TRUSTED_UIDS: '4242' });
      expect(trusted.stdout).toBe('ok\n');
    } finally {
      execFileSync('chown', ['-R', '0:0', site]);
    }
  });

  it('never runs an image planted under a genuine manifest digest (its meta names other layers)', async () => {
    const meta = join(site, 'rootfs', 'sha256', `${hex}.json`);
    const genuine = readFileSync(meta, 'utf8');
    const planted = join(site, 'rootfs', 'sha256', hex, 'etc', 'planted');
    chmodSync(join(site, 'rootfs', 'sha256', hex, 'etc'), 0o755);
    writeFileSync(planted, 'planted\n');
    writeFileSync(meta, genuine.replace(/"digest":\s*"sha256:[a-f0-9]{64}"/, `"digest": "sha256:${'e'.repeat(64)}"`));
    try {
      const refused = await siteRun(['--offline', 'run', '--json', '--', 'cat', '/etc/planted']);
      expect(refused.stdout).not.toContain('planted\n');
      expect(refused.json<ErrorOut>().error).toMatchObject({ code: 'STORE_DAMAGED', message: expect.stringContaining('not the image envlock.lock names') });
      // With the genuine image in the caller's own store, the planted one is skipped, not run.
      bringOwnImageBack();
      const genuineRun = await siteRun(['--offline', 'run', '--', 'sh', '-c', 'cat /etc/planted 2>/dev/null || echo genuine']);
      expect(genuineRun.stdout).toBe('genuine\n');
    } finally {
      writeFileSync(meta, genuine);
      execFileSync('rm', ['-f', planted]);
      moveOwnImageAside();
    }
  });
});

describe.each(CALLERS)('the caller\'s own store, as $name', (caller) => {
  it('refuses an entry whose meta names other layers than the lock, pointing at pull --repair', async () => {
    const project = await pulledProject(caller, `version: 1\nenvironments:\n  bb:\n    image: ${registry}/busybox:latest\n    platforms: [linux/amd64]\n`);
    const dir = join(project.env.ENVLOCK_STORE!, 'rootfs', 'sha256');
    const meta = join(dir, readdirSync(dir).find((n) => n.endsWith('.json'))!);
    writeFileSync(meta, readFileSync(meta, 'utf8').replace(/"config":\s*"sha256:[a-f0-9]{64}"/, `"config": "sha256:${'c'.repeat(64)}"`));
    const result = await run(project, ['run', '--json', '--', 'echo', 'ran']);
    expect(result.stdout).not.toContain('ran');
    const { error } = result.json<ErrorOut>();
    expect(error.code).toBe('STORE_DAMAGED');
    expect(error.message).toContain(`it was built with config sha256:${'c'.repeat(64)}`);
    expect(error.hint).toBe('Run `envlock pull --repair` to build it again from the locked layers.');
  });
});
