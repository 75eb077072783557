// Regression: `module publish` must never write through a temporary name, or a directory, someone
// planted in a shared module tree (issue 12.6, 13.8). It used to copy the lock and the declaration to the
// predictable `NAME.tmp-<pid>`, following a symlink there; a group member could make root's
// publish overwrite any file. The planter here knows the pid, because the CLI is exec'ed by the
// shell that planted the links.

import { execFileSync, spawnSync } from 'node:child_process';
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

  // A group member may create entries in the tree's root. Each of these links made the old
  // publish write into, or empty, the directory it names (the index's per-name directory lost
  // every file that is not a module name; .envlock lost everything but the new prepared one).
  const plants = [
    { what: 'the index\'s per-name directory', at: (tree: string) => path.join(tree, '.envlock-index.d') },
    { what: 'the module name', at: (tree: string) => path.join(tree, 'shared') },
    { what: 'the prepared directory', at: (tree: string) => path.join(tree, 'shared', '1', '.envlock') },
  ];
  it.each(plants)('refuses to write through a symlink planted at $what, and leaves its target alone', ({ at }) => {
    const root = fs.mkdtempSync(path.join(base, `${user}-dir-`));
    fs.chmodSync(root, 0o755);
    const store = path.join(root, 'store');
    const project = makeProject(root, store, { env: 'shared', version: '1', commands: ['shared-tool'] });
    const tree = path.join(root, 'tree');
    fs.mkdirSync(tree, { mode: 0o777 });
    fs.chmodSync(tree, 0o777);
    const victim = path.join(root, 'victim');
    fs.mkdirSync(path.join(victim, '1'), { recursive: true });
    fs.writeFileSync(path.join(victim, 'precious'), 'precious\n');
    const link = at(tree);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(victim, link);
    // The planter is nobody, the group member; as root, publishing into what nobody made.
    chownTree(root);
    const before = execFileSync('find', [victim], { encoding: 'utf8' });
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root, NO_COLOR: '1', ENVLOCK_STORE: store, ENVLOCK_LAUNCHER: launcher(root), ENVLOCK_MODULEPATH: tree };
    const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    const argv = [process.execPath, CLI_PATH, 'module', 'publish', '1'];
    const result = user === 'nobody'
      ? spawnSync('runuser', ['-u', 'nobody', '--', '/usr/bin/env', '-i', ...envArgs, ...argv], { cwd: project.dir, encoding: 'utf8' })
      : spawnSync('/usr/bin/env', ['-i', ...envArgs, ...argv], { cwd: project.dir, encoding: 'utf8' });
    expect(result.stderr).toMatch(/^error: envlock does not write into \S+: \S+ (is a symbolic link|belongs to uid 65534, who could change what envlock writes there)\.\n/);
    expect(result.status).toBe(1);
    expect(execFileSync('find', [victim], { encoding: 'utf8' })).toBe(before);
    expect(fs.readFileSync(path.join(victim, 'precious'), 'utf8')).toBe('precious\n');
  });
});
