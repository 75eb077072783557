// A repeated `envlock pull` is answered from the plan the full CLI recorded, after the same
// read-only checks of the store a full pull makes (cli/fast/pull-warm.ts). These tests make sure
// that shortcut never gives a stale answer: a changed declaration, lock, store or envlock, and
// any record that is not exactly the caller's own and sound, must reach the full pull.

import { chownSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { busyboxEntries } from '../../helpers/busybox-layer.js';
import { restampBundleVersion } from '../../helpers/bundle-version.js';
import { CLI_PATH, makeTempDir, NOBODY, REPO_ROOT, removeTempDirs, runCli } from '../../helpers/cli.js';
import { buildImage } from '../../helpers/image-builder.js';
import { pushImage } from '../../helpers/registry-push.js';
import { tarEntries } from '../../helpers/tar-writer.js';

const registry = inject('registry');
const images = inject('testImages');

afterAll(() => removeTempDirs());

const USERS = [{ name: 'root', as: undefined }, { name: 'nobody', as: 'nobody' as const }];

const yaml = (platforms: string) => `version: 1\nenvironments:\n  bb:\n    image: ${registry}/busybox:latest\n    platforms: [${platforms}]\n`;

interface Plan {
  entries: { images: { manifest: { digest: string }; config: { digest: string }; layers: unknown[] }[] }[];
}

/** A project pulled once by `user` (cold), with its HOME and store; the pull recorded its plan. */
async function pulledProject(user: 'nobody' | undefined, image = `${registry}/busybox:latest`, platforms = 'linux/amd64, linux/arm64') {
  const forUser = user === 'nobody' ? { forUser: 'nobody' as const } : {};
  const dir = makeTempDir('warm', forUser);
  const home = makeTempDir('home', forUser);
  const store = join(makeTempDir('store', forUser), 'store');
  writeFileSync(join(dir, 'envlock.yaml'), `version: 1\nenvironments:\n  bb:\n    image: ${image}\n    platforms: [${platforms}]\n`);
  const env = { HOME: home, ENVLOCK_STORE: store };
  const as = user ? { asUser: user } : {};
  const cli = (args: string[], extra: Record<string, string> = {}, entry = CLI_PATH) => runCli(args, { cwd: dir, env: { ...env, ...extra }, entry, ...as });
  expect((await cli(['lock'])).code).toBe(0);
  const cold = await cli(['pull', '--all-platforms']);
  expect(cold.code).toBe(0);
  const first = await cli(['pull']);
  expect(first.code).toBe(0);
  const answers = join(home, '.cache', 'envlock', 'answers');
  const record = () => {
    const names = readdirSync(answers).filter((f) => f.startsWith('pull-'));
    return names.map((name) => join(answers, name));
  };
  return { dir, home, store, cli, record };
}

/** The manifest digest `pull --json` reports for the one environment. */
function manifestOf(stdout: string): string {
  const doc = JSON.parse(stdout) as { result: { environments: { manifest: string }[] } };
  return doc.result.environments.map((e) => e.manifest).join(',');
}

/** Rewrites the recorded plan of a plain `pull` to name `digest` instead: a wrong answer to catch. */
function forgePlan(file: string, digest: string, store?: string): void {
  const record = JSON.parse(readFileSync(file, 'utf8')) as { answer: Plan };
  // The whole image, as the store's meta records it: pull uses an entry only for the config and
  // layers it was built from (issue 12.1), so a forged manifest digest alone is never answered.
  const meta = store === undefined ? undefined : (JSON.parse(readFileSync(join(store, 'rootfs', 'sha256', `${digest.slice(7)}.json`), 'utf8')) as { config: string; layers: unknown[] });
  for (const entry of record.answer.entries) {
    for (const image of entry.images) {
      image.manifest.digest = digest;
      if (meta === undefined) continue;
      image.config.digest = meta.config;
      image.layers = meta.layers;
    }
  }
  writeFileSync(file, JSON.stringify(record));
}

describe.each(USERS)('warm pull answered from a record, as $name', ({ as }) => {
  it('answers a repeated pull exactly as the full pull does, and only when nothing is to do', async () => {
    const p = await pulledProject(as);
    expect(p.record().length).toBeGreaterThan(0);
    for (const extra of [[], ['--json'], ['--offline']]) {
      const fast = await p.cli(['pull', ...extra]);
      const full = await p.cli(['pull', ...extra], { ENVLOCK_NO_FAST_PATH: '1' });
      expect(fast.code).toBe(0);
      expect(fast.stderr).toBe('');
      expect(fast.stdout).toBe(full.stdout);
    }
    expect((await p.cli(['pull'])).stdout).toMatch(/bb\s+linux\/amd64\/v1\s+[0-9a-f]{12}\s+up to date\s+-/);
  });

  it('never answers once the declaration changed', async () => {
    const p = await pulledProject(as);
    writeFileSync(join(p.dir, 'envlock.yaml'), yaml('linux/amd64'));
    const stale = await p.cli(['pull']);
    expect(stale.code).toBe(3);
    expect(stale.stderr).toContain('platform linux/arm64 is no longer declared');
  });

  it('never answers once the lock changed', async () => {
    // The declaration stays; its tag moves to another image and `envlock lock` records that.
    const repo = `moving-${process.pid}-${Date.now()}`;
    const build = (label: string) => buildImage({ layers: [tarEntries([...busyboxEntries(), { path: 'etc/label', type: 'file', mode: 0o644, content: `${label}\n` }])], platform: { os: 'linux', architecture: 'amd64' }, createdBy: label });
    const first = build('first');
    await pushImage(registry, repo, 'latest', first);
    const p = await pulledProject(as, `${registry}/${repo}:latest`, 'linux/amd64');
    const second = build('second');
    await pushImage(registry, repo, 'latest', second);
    expect((await p.cli(['lock'])).code).toBe(0);
    const pulled = await p.cli(['--json', 'pull']);
    expect(pulled.code).toBe(0);
    expect(manifestOf(pulled.stdout)).toBe(second.digest);
    expect(pulled.stdout).toContain('"unpacked":true');
  });

  it('never answers once the image was removed from the store, or the store lost what pull keeps', async () => {
    const p = await pulledProject(as);
    const rootfs = readdirSync(join(p.store, 'rootfs', 'sha256')).filter((n) => !n.endsWith('.json'));
    for (const name of rootfs) rmSync(join(p.store, 'rootfs', 'sha256', name), { recursive: true, force: true });
    const again = await p.cli(['pull']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/bb\s+linux\/amd64\/v1\s+[0-9a-f]{12}\s+pulled/);
    // The index kept for export, and the lockfile's registration (what gc protects), come back.
    const index = join(p.store, 'blobs', 'sha256', images.busybox.slice('sha256:'.length));
    unlinkSync(index);
    const registrations = join(p.store, 'lockfiles');
    for (const name of readdirSync(registrations)) unlinkSync(join(registrations, name));
    expect((await p.cli(['pull'])).code).toBe(0);
    expect(existsSync(index)).toBe(true);
    expect(readdirSync(registrations)).toHaveLength(1);
  });

  it('never answers once ENVLOCK_CPU_MASK changes the CPU every command sees', async () => {
    const p = await pulledProject(as);
    const right = manifestOf((await p.cli(['--json', 'pull'])).stdout);
    // Control first: the record answers, visibly wrong once forged.
    for (const file of p.record()) forgePlan(file, images.busyboxArm64, p.store);
    expect(manifestOf((await p.cli(['--json', 'pull'])).stdout)).toBe(images.busyboxArm64);
    // Without sse2 (every x86-64 CPU has it) no locked variant fits: the full pull says so.
    const masked = await p.cli(['pull'], { ENVLOCK_CPU_MASK: 'sse2' });
    expect(masked.code, masked.stderr).toBe(4);
    expect(masked.stderr).toContain('sse2');
    // And an unmasked pull again takes the full path once its record is gone.
    for (const file of p.record()) rmSync(file);
    expect(manifestOf((await p.cli(['--json', 'pull'])).stdout)).toBe(right);
  });

  it("never answers once the store's store.toml asks for another image form", async () => {
    const p = await pulledProject(as);
    // Under auto (the default) the tree already pulled is up to date, from the full CLI and then
    // from the record it left.
    const auto = { ENVLOCK_IMAGE_FORMAT: undefined } as unknown as Record<string, string>;
    const formOf = (stdout: string) => (JSON.parse(stdout) as { result: { environments: { form: string; unpacked: boolean }[] } }).result.environments[0]!;
    for (let i = 0; i < 2; i++) expect(formOf((await p.cli(['--json', 'pull'], auto)).stdout)).toEqual(expect.objectContaining({ form: 'tree', unpacked: false }));
    // The store's administrator asks for squashfs: the next pull builds it, never answers "up to date".
    writeFileSync(join(p.store, 'store.toml'), 'image-format = "squashfs"\n', { mode: 0o644 });
    const after = await p.cli(['--json', 'pull'], auto);
    expect(after.code, after.stderr).toBe(0);
    expect(formOf(after.stdout)).toEqual(expect.objectContaining({ form: 'squashfs', unpacked: true }));
  });

  it('never answers from a record that another version of envlock wrote', async () => {
    const p = await pulledProject(as);
    const fast = await p.cli(['--json', 'pull']);
    const right = manifestOf(fast.stdout);
    // Control: the caller's own record is what the answer comes from (here made visibly wrong).
    const arm64 = images.busyboxArm64;
    for (const file of p.record()) forgePlan(file, arm64, p.store);
    expect(manifestOf((await p.cli(['--json', 'pull'])).stdout)).toBe(arm64);
    const other = makeTempDir('other-envlock', as === 'nobody' ? { forUser: 'nobody' } : {});
    cpSync(join(REPO_ROOT, 'dist', 'bundle'), join(other, 'dist', 'bundle'), { recursive: true });
    cpSync(join(REPO_ROOT, 'native', 'build', 'Release'), join(other, 'native', 'build', 'Release'), { recursive: true });
    writeFileSync(join(other, 'native', 'binding.gyp'), '{}\n');
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    writeFileSync(join(other, 'package.json'), JSON.stringify({ ...pkg, version: `${pkg.version}-other` }));
    restampBundleVersion(join(other, 'dist', 'bundle'), pkg.version, `${pkg.version}-other`);
    const otherPull = await p.cli(['--json', 'pull'], {}, join(other, 'dist', 'bundle', 'envlock.js'));
    expect(otherPull.code).toBe(0);
    expect(manifestOf(otherPull.stdout)).toBe(right);
  });

  it('never answers from a record that is torn, foreign or names something outside the store', async () => {
    const p = await pulledProject(as);
    const owner = as === 'nobody' ? NOBODY : { uid: 0, gid: 0 };
    const other = as === 'nobody' ? { uid: 0, gid: 0 } : NOBODY;
    const right = manifestOf((await p.cli(['--json', 'pull'])).stdout);
    const files = p.record();
    const pristine = files.map((f) => readFileSync(f, 'utf8'));
    const restore = (who: { uid: number; gid: number }) => files.forEach((f, i) => {
      writeFileSync(f, pristine[i]!);
      chownSync(f, who.uid, who.gid);
    });
    const answer = async () => manifestOf((await p.cli(['--json', 'pull'])).stdout);
    // Foreign: the same wrong plan as the control above, but owned by someone else.
    restore(other);
    for (const f of files) forgePlan(f, images.busyboxArm64, p.store);
    expect(await answer()).toBe(right);
    // Torn.
    restore(owner);
    for (const f of files) {
      forgePlan(f, images.busyboxArm64, p.store);
      truncateSync(f, 40);
    }
    expect(await answer()).toBe(right);
    // A digest that would lead out of the store.
    restore(owner);
    for (const f of files) forgePlan(f, 'sha256:../../../../../../etc');
    expect(await answer()).toBe(right);
  });
});
