// Regression: `module publish` must never write through a temporary name someone planted in a
// shared module tree (issue 12.6, 13.8). It used to copy the lock and the declaration to the
// predictable `NAME.tmp-<pid>`, following a symlink there; a group member could make root's
// publish overwrite any file. The planter here knows the pid, because the CLI is exec'ed by the
// shell that planted the links.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_PATH, NOBODY } from '../../helpers/cli.js';
import { launcher, makeProject, openTempDir } from './fixture.js';

let base: string;
beforeAll(() => {
  base = openTempDir('planted');
});
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

function chownTree(dir: string): void {
  fs.chownSync(dir, NOBODY.uid, NOBODY.gid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const where = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(where);
    else fs.lchownSync(where, NOBODY.uid, NOBODY.gid);
  }
}

describe.each(['root', 'nobody'] as const)('module publish as %s', (user) => {
  it('never writes through symlinks planted at its temporary names', () => {
    const root = path.join(base, user);
    fs.mkdirSync(root);
    const store = path.join(root, 'store');
    const project = makeProject(root, store, { env: 'shared', version: '1', commands: ['shared-tool'] });
    const tree = path.join(root, 'tree');
    const dir = path.join(tree, 'shared', '1');
    fs.mkdirSync(dir, { recursive: true });
    const victim = path.join(root, 'victim');
    fs.writeFileSync(victim, 'precious\n');
    if (user === 'nobody') chownTree(root);
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root, NO_COLOR: '1', ENVLOCK_STORE: store, ENVLOCK_LAUNCHER: launcher(root), ENVLOCK_MODULEPATH: tree };
    // Every name the old code could pick for this process, pointing at the victim.
    const plant = ['envlock.lock', 'envlock.yaml'].map((f) => `ln -s ${victim} ${dir}/${f}.tmp-$$`).join(' && ');
    const script = `${plant} && exec "$0" "$@"`;
    const argv = ['sh', '-c', script, process.execPath, CLI_PATH, 'module', 'publish', '1'];
    const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    const result = user === 'nobody'
      ? spawnSync('runuser', ['-u', 'nobody', '--', '/usr/bin/env', '-i', ...envArgs, ...argv], { cwd: project.dir, encoding: 'utf8' })
      : spawnSync('/usr/bin/env', ['-i', ...envArgs, ...argv], { cwd: project.dir, encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(fs.readFileSync(path.join(dir, 'envlock.lock'))).toEqual(fs.readFileSync(path.join(project.dir, 'envlock.lock')));
    expect(fs.lstatSync(path.join(dir, 'envlock.lock')).isFile()).toBe(true);
  });
});
