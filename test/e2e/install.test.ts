// The supported install, from a fresh checkout, exactly as README's set-up writes it:
// `sudo bash scripts/install.sh --prefix /opt/envlock --bin-dir /usr/local/bin` packs envlock,
// installs it under the prefix and links `envlock` into the bin directory. A fresh shell with the
// PATH it starts with (bash or sh, login or not: what srun and sbatch start) finds it, as root and
// as nobody, with no `node` needed on PATH, and it locks, pulls and runs an image with the native
// runtime it built. So that nothing is installed on the machine that runs the tests, README's
// /opt and /usr/local/bin are this test's directories inside a private mount namespace.

import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeTempDir, NOBODY, REPO_ROOT, removeTempDirs } from '../helpers/cli.js';

const registry = inject('registry');
afterAll(() => removeTempDirs());

/** The checkout as a fresh clone has it: tracked and new files, no node_modules, dist or native build. */
function freshCopy(into: string): void {
  const files = spawnSync('git', ['-C', REPO_ROOT, 'ls-files', '--cached', '--others', '--exclude-standard', '-z'], { encoding: 'buffer' });
  if (files.status === 0) {
    execFileSync('tar', ['--null', '-T', '-', '-cf', join(into, '..', 'src.tar')], { cwd: REPO_ROOT, input: files.stdout });
  } else {
    execFileSync('tar', ['--exclude=./node_modules', '--exclude=./dist', '--exclude=./native/build', '-cf', join(into, '..', 'src.tar'), '.'], { cwd: REPO_ROOT });
  }
  execFileSync('tar', ['-xf', join(into, '..', 'src.tar'), '-C', into]);
}

/** README's set-up command, as a user copies it from the set-up section (without `sudo`). */
function readmeSetUp(): { line: string; prefix: string; binDir: string } {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Set-up');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const line = /^sudo (bash scripts\/install\.sh .*)$/m.exec(section)?.[1];
  if (line === undefined) throw new Error("README's set-up has no `sudo bash scripts/install.sh …` line");
  const prefix = /--prefix (\S+)/.exec(line)?.[1];
  const binDir = /--bin-dir (\S+)/.exec(line)?.[1];
  if (prefix === undefined || binDir === undefined) throw new Error(`README's set-up line names no --prefix or --bin-dir: ${line}`);
  return { line, prefix, binDir };
}

let optDir: string;
let usrLocalBin: string;
let prefix: string;
let binDir: string;

/**
 * argv that runs `command` in a private mount namespace where /opt and /usr/local/bin are this
 * test's directories: root makes the mounts, then for nobody runuser drops to nobody.
 */
function inPrivateMounts(command: readonly string[], nobody = false): string[] {
  const mounts = 'mount --bind "$1" /opt && mount --bind "$2" /usr/local/bin && shift 2 && exec "$@"';
  return ['unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', mounts, 'sh', optDir, usrLocalBin,
    ...(nobody ? ['runuser', '-u', 'nobody', '--'] : []), ...command];
}

/** A fresh shell with nothing but HOME (PATH only when given: else the one the shell starts with). */
function fresh(script: string, options: { nobody?: boolean; path?: string; home: string; shell?: readonly string[] }) {
  const env = [...(options.path === undefined ? [] : [`PATH=${options.path}`]), `HOME=${options.home}`, 'LC_ALL=C'];
  const argv = inPrivateMounts(['/usr/bin/env', '-i', ...env, ...(options.shell ?? ['/bin/bash', '-c']), script], options.nobody);
  return spawnSync(argv[0]!, argv.slice(1), { cwd: '/', encoding: 'utf8', timeout: 120_000 });
}

beforeAll(() => {
  const base = makeTempDir('install');
  chmodSync(base, 0o755);
  const clone = join(base, 'clone');
  mkdirSync(clone);
  freshCopy(clone);
  optDir = join(base, 'opt');
  usrLocalBin = join(base, 'usr-local-bin');
  mkdirSync(optDir, { mode: 0o755 });
  mkdirSync(usrLocalBin, { mode: 0o755 });
  const setUp = readmeSetUp();
  ({ prefix, binDir } = setUp);
  // The namespace stands in for exactly these two directories.
  expect([prefix, binDir]).toEqual(['/opt/envlock', '/usr/local/bin']);
  const argv = inPrivateMounts(['/bin/bash', '-c', setUp.line]);
  const result = spawnSync(argv[0]!, argv.slice(1), { cwd: clone, encoding: 'utf8', timeout: 600_000 });
  expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
  expect(result.stdout).toContain(`is installed in ${prefix}`);
  expect(existsSync(join(optDir, 'envlock', 'bin', 'envlock'))).toBe(true);
}, 660_000);

describe("installing on PATH with README's set-up", () => {
  it('puts envlock on the PATH every fresh shell starts with, for root and nobody', () => {
    const shells: (readonly string[])[] = [['/bin/bash', '-c'], ['/bin/sh', '-c'], ['/bin/bash', '--norc', '-l', '-c']];
    for (const nobody of [false, true]) {
      const home = makeTempDir('install-home', nobody ? { forUser: 'nobody' } : {});
      for (const shell of shells) {
        const r = fresh('envlock --version && command -v envlock', { nobody, home, shell });
        expect(r.stdout, `${shell.join(' ')}: ${r.stderr}`).toBe(`0.1.0\n${binDir}/envlock\n`);
      }
    }
  });

  it('runs with the Node it was installed with, whatever node PATH holds (none here)', () => {
    for (const nobody of [false, true]) {
      const home = makeTempDir('install-home', nobody ? { forUser: 'nobody' } : {});
      const r = fresh('envlock --version && { command -v node || echo "no node"; }', { nobody, path: binDir, home });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('0.1.0\nno node\n');
    }
  });

  it('locks, pulls and runs an image from the installed copy, as nobody', () => {
    const home = makeTempDir('install-run', { forUser: 'nobody' });
    const project = join(home, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'envlock.yaml'), `version: 1\nenvironments:\n  bb:\n    image: ${registry}/busybox:latest\n    platforms: [linux/amd64]\n`);
    execFileSync('chown', ['-R', `${NOBODY.uid}:${NOBODY.gid}`, project]);
    const r = fresh('cd "$HOME/project" && envlock lock -q && envlock pull -q && envlock run -- sh -c "id -u; cat /etc/os-release"', { nobody: true, home });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('65534\nID=envlock-test');
    expect(r.status).toBe(0);
    expect(existsSync(join(optDir, 'envlock', 'lib', 'node_modules', 'envlock', 'native', 'build', 'Release', 'envlock-launch'))).toBe(true);
  });

  it('gives the module shim from the installed copy', () => {
    const r = fresh('eval "$(envlock shim bash)"; type module | head -1; echo "$ENVLOCK_NODE"', { home: '/' });
    expect(r.stdout).toMatch(/^module is a function\n\/\S+node\n$/);
  });
});
