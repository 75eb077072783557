// `envlock lock --check` answers a repeated check from the verdict the full CLI recorded
// (cli/fast/lock-check.ts). These tests make sure that shortcut never gives a stale answer:
// any change to the declaration, the lock or envlock itself, and any record that is not
// exactly the caller's own, must reach the full check and its real verdict.

import { chownSync, chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { restampBundleVersion } from '../../helpers/bundle-version.js';
import { CLI_PATH, makeTempDir, NOBODY, REPO_ROOT, removeTempDirs, runCli } from '../../helpers/cli.js';

const registry = inject('registry');

afterAll(() => removeTempDirs());

const USERS = [{ name: 'root', as: undefined }, { name: 'nobody', as: 'nobody' as const }];

const yaml = (platforms: string) => `version: 1\nenvironments:\n  bb:\n    image: ${registry}/busybox:latest\n    platforms: [${platforms}]\n    env: { STAGE: one }\n`;

/** A locked project and a HOME, both owned by `user`; the first check records its verdict. */
async function lockedProject(user: 'nobody' | undefined) {
  const forUser = user === 'nobody' ? { forUser: 'nobody' as const } : {};
  const dir = makeTempDir('check', forUser);
  const home = makeTempDir('home', forUser);
  writeFileSync(join(dir, 'envlock.yaml'), yaml('linux/amd64'));
  const options = { cwd: dir, env: { HOME: home }, ...(user ? { asUser: user } : {}) };
  const check = (extra: string[] = [], env: Record<string, string> = {}) => runCli(['--offline', 'lock', '--check', ...extra], { ...options, env: { ...options.env, ...env } });
  expect((await runCli(['lock'], options)).code).toBe(0);
  const first = await check();
  expect(first.code).toBe(0);
  const answers = join(home, '.cache', 'envlock', 'answers');
  return { dir, home, answers, check, records: () => readdirSync(answers).filter((f) => f.startsWith('lock-check-')) };
}

describe.each(USERS)('lock --check answered from a record, as $name', ({ as }) => {
  it('answers a repeated check exactly as the full check does', async () => {
    const p = await lockedProject(as);
    expect(p.records()).toHaveLength(1);
    for (const extra of [[], ['--json']]) {
      const fast = await p.check(extra);
      const full = await p.check(extra, { ENVLOCK_NO_FAST_PATH: '1' });
      expect(fast.code).toBe(0);
      expect(fast.stdout).toBe(full.stdout);
      expect(fast.stderr).toBe('');
    }
  });

  it('never answers from a record once the declaration changed', async () => {
    const p = await lockedProject(as);
    writeFileSync(join(p.dir, 'envlock.yaml'), yaml('linux/amd64, linux/arm64'));
    const stale = await p.check();
    expect(stale.code).toBe(3);
    expect(stale.stderr).toContain('platform linux/arm64 was added for `bb`');
    // An edit that no lock depends on is still fresh, and is recorded as such.
    writeFileSync(join(p.dir, 'envlock.yaml'), yaml('linux/amd64').replace('STAGE: one', 'STAGE: two'));
    expect((await p.check()).code).toBe(0);
  });

  it('never answers from a record once the lock changed', async () => {
    const p = await lockedProject(as);
    const lock = join(p.dir, 'envlock.lock');
    writeFileSync(lock, readFileSync(lock, 'utf8').replace(/declaration-hash = "sha256:[0-9a-f]{64}"/, `declaration-hash = "sha256:${'0'.repeat(64)}"`));
    const stale = await p.check();
    expect(stale.code).toBe(3);
    expect(stale.stderr).toContain('declaration changed since the lock was written');
    unlinkSync(lock);
    const missing = await p.check();
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('No envlock.lock exists');
  });

  it('never answers from a record that another version of envlock wrote', async () => {
    const p = await lockedProject(as);
    // Another release, whose declaration hash is computed differently: this lock is stale for it.
    const other = makeTempDir('other-envlock', as === 'nobody' ? { forUser: 'nobody' } : {});
    cpSync(join(REPO_ROOT, 'dist', 'bundle'), join(other, 'dist', 'bundle'), { recursive: true });
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    writeFileSync(join(other, 'package.json'), JSON.stringify({ ...pkg, version: `${pkg.version}-other` }));
    restampBundleVersion(join(other, 'dist', 'bundle'), pkg.version, `${pkg.version}-other`);
    // Every bundle that holds the hash (the full CLI's chunk and the lock bundle) is the other
    // release's, and so is the build id every file is stamped with, as in a rebuilt release.
    const bundle = join(other, 'dist', 'bundle');
    const id = /"([0-9a-f]{64})"/.exec(readFileSync(join(bundle, 'fast-answers.js'), 'utf8'))![1]!;
    let patched = 0;
    for (const name of readdirSync(bundle, { recursive: true, encoding: 'utf8' }).filter((n) => /\.m?js$/.test(n))) {
      const text = readFileSync(join(bundle, name), 'utf8').replaceAll(id, [...id].reverse().join(''));
      if (text.includes('DECLARATION_HASH_SCHEME = 1;')) patched++;
      writeFileSync(join(bundle, name), text.replace('DECLARATION_HASH_SCHEME = 1;', 'DECLARATION_HASH_SCHEME = 2;'));
    }
    expect(patched).toBeGreaterThan(0);
    const check = await runCli(['--offline', 'lock', '--check'], { cwd: p.dir, env: { HOME: p.home }, entry: join(other, 'dist', 'bundle', 'envlock.js'), ...(as ? { asUser: as } : {}) });
    expect(check.code).toBe(3);
    expect(check.stderr).toContain('declaration changed since the lock was written');
    // The release that recorded the verdict still answers from it.
    expect((await runCli(['--offline', 'lock', '--check'], { cwd: p.dir, env: { HOME: p.home }, entry: CLI_PATH, ...(as ? { asUser: as } : {}) })).code).toBe(0);
  });

  it('never answers from a record that is torn, foreign, writable by others or a link', async () => {
    const p = await lockedProject(as);
    const [name] = p.records();
    const file = join(p.answers, name!);
    // Make the record claim that a stale declaration is fresh, as a forged or leftover one would.
    const staleYaml = yaml('linux/amd64, linux/arm64');
    const record = JSON.parse(readFileSync(file, 'utf8')) as { declarationText: string };
    const forged = JSON.stringify({ ...record, declarationText: staleYaml });
    writeFileSync(join(p.dir, 'envlock.yaml'), staleYaml);
    const owner = as === 'nobody' ? NOBODY : { uid: 0, gid: 0 };
    const other = as === 'nobody' ? { uid: 0, gid: 0 } : NOBODY;
    const place = (mode: number, who: { uid: number; gid: number }) => {
      unlinkSync(file);
      writeFileSync(file, forged, { mode });
      chmodSync(file, mode);
      chownSync(file, who.uid, who.gid);
    };
    // Control: the caller's own intact record is what an answer is read from.
    place(0o600, owner);
    expect((await p.check()).code).toBe(0);
    place(0o600, other);
    expect((await p.check()).code).toBe(3);
    place(0o622, owner);
    expect((await p.check()).code).toBe(3);
    place(0o600, owner);
    truncateSync(file, Math.floor(forged.length / 2));
    expect((await p.check()).code).toBe(3);
    const aside = join(p.home, 'aside.json');
    writeFileSync(aside, forged, { mode: 0o600 });
    chownSync(aside, owner.uid, owner.gid);
    unlinkSync(file);
    symlinkSync(aside, file);
    expect((await p.check()).code).toBe(3);
  });
});

describe('lock --check records', () => {
  it('are written nowhere when the cache directory cannot be created, and the check still answers', async () => {
    const dir = makeTempDir('check');
    const home = makeTempDir('home');
    writeFileSync(join(dir, 'envlock.yaml'), yaml('linux/amd64'));
    expect((await runCli(['lock'], { cwd: dir, env: { HOME: home } })).code).toBe(0);
    mkdirSync(join(home, 'blocked'));
    writeFileSync(join(home, 'blocked', 'envlock'), 'a file where the cache directory would go');
    const env = { HOME: home, XDG_CACHE_HOME: join(home, 'blocked') };
    for (let i = 0; i < 2; i++) {
      const check = await runCli(['--offline', 'lock', '--check'], { cwd: dir, env });
      expect(check.code).toBe(0);
      expect(check.stderr).toBe('');
    }
  });
});
