// A host without Slurm's headers still builds envlock: the launcher and the addon are built,
// the SPANK plugin is skipped with one note, and `envlock slurm plugstack` says why (exit 4).
// The headers are hidden by an empty directory bound over them in a private mount namespace,
// so nothing changes for other builds on this machine.

import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir, REPO_ROOT, removeTempDirs } from '../../helpers/cli.js';

const HEADERS = '/usr/include/slurm';

afterAll(() => removeTempDirs());

describe.runIf(process.getuid?.() === 0 && existsSync(HEADERS))('building on a host without Slurm headers', () => {
  it('builds everything else, skips the plugin with one note, and plugstack explains', () => {
    const root = makeTempDir('no-slurm-headers');
    const empty = join(root, 'empty');
    const pkg = join(root, 'pkg');
    mkdirSync(empty);
    mkdirSync(join(pkg, 'scripts'), { recursive: true });
    cpSync(join(REPO_ROOT, 'native'), join(pkg, 'native'), { recursive: true, filter: (src) => !src.includes(`${join('native', 'build')}`) });
    for (const file of ['package.json', 'scripts/build-native.mjs']) cpSync(join(REPO_ROOT, file), join(pkg, file));
    cpSync(join(REPO_ROOT, 'dist'), join(pkg, 'dist'), { recursive: true });
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(pkg, 'node_modules'));
    const npmRoot = execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim();
    const gyp = [join(npmRoot, 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'), join(REPO_ROOT, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')].find(existsSync);
    const built = spawnSync('unshare', ['-m', 'sh', '-c', `mount --bind '${empty}' ${HEADERS} && exec '${process.execPath}' scripts/build-native.mjs`], {
      cwd: pkg,
      encoding: 'utf8',
      env: { ...process.env, ...(gyp ? { npm_config_node_gyp: gyp } : {}) },
      timeout: 300_000,
    });
    expect(built.status, built.stderr).toBe(0);
    const release = join(pkg, 'native', 'build', 'Release');
    expect(existsSync(join(release, 'envlock-launch'))).toBe(true);
    expect(existsSync(join(release, 'envlock_native.node'))).toBe(true);
    expect(existsSync(join(release, 'envlock_spank.so'))).toBe(false);
    expect(built.stderr.match(/note: no Slurm headers/g)).toHaveLength(1);

    const plugstack = spawnSync(process.execPath, [join(pkg, 'dist', 'bundle', 'envlock.js'), 'slurm', 'plugstack'], { encoding: 'utf8' });
    expect(plugstack.status).toBe(4);
    expect(plugstack.stdout).toBe('');
    expect(plugstack.stderr).toContain('was not built, because this host had no Slurm headers');
    expect(plugstack.stderr).toContain('libslurm-dev');
  }, 300_000);
});
