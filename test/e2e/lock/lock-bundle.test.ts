// `envlock lock` runs from a bundle of its own (dist/bundle/lock.mjs, cli/lock-main.ts): the bin
// sends it every command line that mentions `lock`. Whatever the command line, the answer must
// be the full CLI's (dist/bundle/main.mjs run directly): the same output, errors and exit status,
// and the same lock bytes.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { CLI_PATH, makeTempDir, REPO_ROOT, removeTempDirs, runCli, type CliOptions } from '../../helpers/cli.js';

const registry = inject('registry');
const FULL_CLI = join(REPO_ROOT, 'dist', 'bundle', 'main.mjs');

afterAll(() => removeTempDirs());

const USERS = [{ name: 'root', as: undefined }, { name: 'nobody', as: 'nobody' as const }];

const declaration = `version: 1\nenvironments:\n  bb:\n    image: ${registry}/busybox:latest\n    platforms: [linux/amd64]\n  second:\n    image: ${registry}/busybox:latest\n`;

function project(user: 'nobody' | undefined): { dir: string; options: CliOptions } {
  const forUser = user === 'nobody' ? { forUser: 'nobody' as const } : {};
  const dir = makeTempDir('lock-bundle', forUser);
  writeFileSync(join(dir, 'envlock.yaml'), declaration);
  const home = makeTempDir('home', forUser);
  const store = join(makeTempDir('store', forUser), 'store');
  return { dir, options: { cwd: dir, env: { HOME: home, ENVLOCK_STORE: store }, ...(user ? { asUser: user } : {}) } };
}

describe.each(USERS)('the lock bundle answers as the full CLI, as $name', ({ as }) => {
  it('writes the same lock and prints the same table', async () => {
    const a = project(as);
    const b = project(as);
    const bundled = await runCli(['lock'], a.options);
    const full = await runCli(['lock'], { ...b.options, entry: FULL_CLI });
    expect(bundled.code).toBe(0);
    expect(bundled.stdout).toContain('Wrote envlock.lock.');
    expect([bundled.code, bundled.stdout, bundled.stderr]).toEqual([full.code, full.stdout, full.stderr]);
    expect(readFileSync(join(a.dir, 'envlock.lock'), 'utf8')).toBe(readFileSync(join(b.dir, 'envlock.lock'), 'utf8'));
  });

  it('gives the same answer to every command line that mentions lock', async () => {
    const p = project(as);
    expect((await runCli(['lock'], p.options)).code).toBe(0);
    mkdirSync(join(p.dir, 'sub'));
    const lines = [
      ['lock'],
      ['--json', 'lock'],
      ['-C', p.dir, '--quiet', 'lock', '--update', 'bb'],
      ['lock', '--check'],
      ['lock', '--platform', 'linux/arm64', '--check'],
      ['lock', '--update', 'nothing'],
      ['lock', '--bogus'],
      ['lock', '--help'],
      ['--json', 'lock', '--help'],
      ['help', 'lock'],
      ['--version', 'lock'],
      ['-C', 'lock', 'list'],
      ['-C', 'sub', 'lock'],
      ['list', 'lock'],
      ['--', 'lock'],
    ];
    for (const argv of lines) {
      // The full lock --check, not its recorded answer: both sides do the same work.
      const env = { ...p.options.env, ENVLOCK_NO_FAST_PATH: '1' };
      const bundled = await runCli(argv, { ...p.options, env });
      const full = await runCli(argv, { ...p.options, env, entry: FULL_CLI });
      expect([bundled.code, bundled.stdout, bundled.stderr], argv.join(' ')).toEqual([full.code, full.stdout, full.stderr]);
    }
  });

  it('shows live progress on a terminal, and keeps its code cache private', async () => {
    const p = project(as);
    const env = p.options.env!;
    // script(1) gives the lock a terminal, so it takes the ink reporter, loaded at run time.
    const command = ['env', '-i', 'TERM=xterm', `HOME=${env.HOME}`, `ENVLOCK_STORE=${env.ENVLOCK_STORE}`, `PATH=${process.env.PATH}`, process.execPath, CLI_PATH, '-C', p.dir, 'lock']
      .map((word) => `'${word}'`).join(' ');
    const argv = ['-qec', command, '/dev/null'];
    const output = as === 'nobody' ? execFileSync('runuser', ['-u', 'nobody', '--', 'script', ...argv], { encoding: 'utf8' }) : execFileSync('script', argv, { encoding: 'utf8' });
    expect(output).toContain('Wrote envlock.lock.');
    expect(output).not.toContain('internal error');
    // ink draws with escape sequences; the plain reporter never writes one.
    expect(output).toContain('\u001b[');
    expect(existsSync(join(p.dir, 'envlock.lock'))).toBe(true);
    // The second lock compiles from the cache the first one wrote, and answers the same.
    const code = join(env.HOME!, '.cache', 'envlock', 'code');
    const cached = readdirSync(code).filter((f) => f.startsWith('lock-'));
    expect(cached).toHaveLength(1);
    expect(statSync(join(code, cached[0]!)).mode & 0o777).toBe(0o600);
    const again = await runCli(['lock'], p.options);
    expect([again.code, again.stderr]).toEqual([0, '']);
    expect(again.stdout).toContain('envlock.lock unchanged.');
  });
});
