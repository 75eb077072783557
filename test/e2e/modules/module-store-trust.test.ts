// Module wrappers apply the read-only store's trust check as run does (issue 12.7): a site store
// that other users could write is not used to prepare a module's wrappers, by publish or by
// `module load` through the CLI, as root and as nobody; with the store fixed, both work.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_PATH, NOBODY, REPO_ROOT } from '../../helpers/cli.js';
import { LAYOUT_FILE, LAYOUT_VERSION } from '../../../core/store/layout.js';
import { launcher, makeProject, openTempDir } from './fixture.js';

let base: string;
beforeAll(() => {
  base = openTempDir('module-store-trust');
});
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

function as(user: 'root' | 'nobody', argv: string[], env: Record<string, string>, cwd = '/') {
  const vars = Object.entries({ PATH: '/usr/bin:/bin', NO_COLOR: '1', ...env }).map(([k, v]) => `${k}=${v}`);
  const full = user === 'nobody' ? ['runuser', '-u', 'nobody', '--', '/usr/bin/env', '-i', ...vars, ...argv] : ['/usr/bin/env', '-i', ...vars, ...argv];
  return spawnSync(full[0]!, full.slice(1), { cwd, encoding: 'utf8' });
}

describe.each(['root', 'nobody'] as const)('a module whose image is in a site store, as %s', (user) => {
  it('is not prepared from the store once its group can write it, and is again once it cannot', () => {
    const root = fs.mkdtempSync(path.join(base, `${user}-`));
    fs.chmodSync(root, 0o755);
    // The site store: root's, read-only for the caller.
    const site = path.join(root, 'site');
    const project = makeProject(root, site, { env: 'sited', version: '1', commands: ['sited-tool'] });
    fs.writeFileSync(path.join(site, LAYOUT_FILE), `${LAYOUT_VERSION}\n`);
    const home = path.join(root, 'home');
    const tree = path.join(root, 'tree');
    for (const dir of [home, tree]) fs.mkdirSync(dir, { mode: 0o755 });
    if (user === 'nobody') for (const dir of [home, tree, project.dir]) spawnSync('chown', ['-R', `${NOBODY.uid}:${NOBODY.gid}`, dir]);
    const env = { HOME: home, ENVLOCK_STORE: path.join(home, 'store'), ENVLOCK_STORE_RO: site, ENVLOCK_LAUNCHER: launcher(root), ENVLOCK_MODULEPATH: tree };
    const publish = () => as(user, [process.execPath, CLI_PATH, '--offline', 'module', 'publish', '1'], env, project.dir);
    fs.chmodSync(path.join(site, 'rootfs'), 0o775);
    const refused = publish();
    expect(refused.stderr).toContain(`error: The read-only store ${site} is not used for ${project.manifestDigest}: ${path.join(site, 'rootfs')} is writable by its group (mode 0775), so other users could change the image.`);
    expect(refused.status).toBe(1);
    expect(fs.existsSync(path.join(tree, 'sited', '1', '.envlock'))).toBe(false);
    fs.chmodSync(path.join(site, 'rootfs'), 0o755);
    const published = publish();
    expect(published.stderr).toBe('');
    expect(published.status).toBe(0);
    // module load of a module made by hand goes through the CLI, which applies the same check.
    fs.rmSync(path.join(tree, 'sited', '1', '.envlock'), { recursive: true });
    fs.rmSync(path.join(tree, '.envlock-index'));
    fs.rmSync(path.join(tree, '.envlock-index.d'), { recursive: true });
    fs.chmodSync(path.join(site, 'rootfs'), 0o775);
    const shim = `. ${path.join(REPO_ROOT, 'shim', 'envlock.sh')}; module load sited/1 && sited-tool --version`;
    const cliEnv = { ...env, ENVLOCK_CLI: CLI_PATH, ENVLOCK_NODE: process.execPath };
    const loadRefused = as(user, ['sh', '-c', shim], cliEnv);
    expect(loadRefused.stdout).toBe('');
    expect(loadRefused.stderr).toContain('is writable by its group (mode 0775), so other users could change the image.');
    fs.chmodSync(path.join(site, 'rootfs'), 0o755);
    const loaded = as(user, ['sh', '-c', shim], cliEnv);
    expect(loaded.stdout).toBe('sited-tool 1\n');
  });
});
