// The supported install, from a fresh checkout: scripts/install.sh packs envlock, installs it under
// a prefix and links `envlock` into a bin directory on PATH. A fresh non-login shell (what srun
// and sbatch start) finds it, as root and as nobody, even with no `node` on its PATH, and it
// locks, pulls and runs an image with the native runtime it built.

import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeTempDir, NOBODY, REPO_ROOT, removeTempDirs } from '../helpers/cli.js';

const registry = inject('registry');
let prefix: string;
let binDir: string;
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

/** A fresh shell with nothing but PATH (and HOME), as a batch job's `bash -c` gets. */
function fresh(script: string, options: { nobody?: boolean; path: string; home: string; cwd?: string }) {
  const env = [`PATH=${options.path}`, `HOME=${options.home}`, 'LC_ALL=C'];
  const argv = options.nobody ? ['runuser', '-u', 'nobody', '--', '/usr/bin/env', '-i', ...env, '/bin/bash', '-c', script] : ['/usr/bin/env', '-i', ...env, '/bin/bash', '-c', script];
  return spawnSync(argv[0]!, argv.slice(1), { cwd: options.cwd ?? '/', encoding: 'utf8', timeout: 120_000 });
}

beforeAll(() => {
  const base = makeTempDir('install');
  chmodSync(base, 0o755);
  const clone = join(base, 'clone');
  mkdirSync(clone);
  freshCopy(clone);
  prefix = join(base, 'opt', 'envlock');
  binDir = join(base, 'usr-local-bin');
  const result = spawnSync('bash', ['scripts/install.sh', '--prefix', prefix, '--bin-dir', binDir], { cwd: clone, encoding: 'utf8', timeout: 600_000 });
  expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
  expect(result.stdout).toContain(`is installed in ${prefix}`);
}, 660_000);

describe('installing on PATH', () => {
  it('puts envlock on the PATH of a fresh non-login shell, for root and nobody, without node on that PATH', () => {
    for (const nobody of [false, true]) {
      const home = makeTempDir('install-home', nobody ? { forUser: 'nobody' } : {});
      const r = fresh('envlock --version && command -v envlock && { command -v node || echo "no node"; }', { nobody, path: binDir, home });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(`0.1.0\n${binDir}/envlock\nno node\n`);
    }
  });

  it('locks, pulls and runs an image from the installed copy, as nobody', () => {
    const home = makeTempDir('install-run', { forUser: 'nobody' });
    const project = join(home, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'envlock.yaml'), `version: 1\nenvironments:\n  bb:\n    image: ${registry}/busybox:latest\n    platforms: [linux/amd64]\n`);
    execFileSync('chown', ['-R', `${NOBODY.uid}:${NOBODY.gid}`, project]);
    const r = fresh('cd "$HOME/project" && envlock lock -q && envlock pull -q && envlock run -- sh -c "id -u; cat /etc/os-release"', { nobody: true, path: `${binDir}:/usr/bin:/bin`, home });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('65534\nID=envlock-test');
    expect(r.status).toBe(0);
    expect(existsSync(join(prefix, 'lib', 'node_modules', 'envlock', 'native', 'build', 'Release', 'envlock-launch'))).toBe(true);
  });

  it('gives the module shim from the installed copy', () => {
    const r = fresh('eval "$(envlock shim bash)"; type module | head -1; echo "$ENVLOCK_NODE"', { path: `${binDir}:/usr/bin:/bin`, home: '/' });
    expect(r.stdout).toMatch(/^module is a function\n\/\S+node\n$/);
  });
});
