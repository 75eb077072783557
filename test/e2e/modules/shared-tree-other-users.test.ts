// A module prepared by one user in a tree others read must work for the others (issue 12.6):
// no launcher path, store or home of the preparing user baked into what they run. Prepared by
// root and run by nobody, and the other way round, each with a home of their own.

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_PATH, NOBODY, REPO_ROOT } from '../../helpers/cli.js';
import { launcher, makeProject, openTempDir } from './fixture.js';

type User = 'root' | 'nobody';
let base: string;
beforeAll(() => {
  base = openTempDir('shared-tree');
});
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

function as(user: User, argv: string[], env: Record<string, string>, cwd = '/') {
  const vars = Object.entries({ PATH: '/usr/bin:/bin', NO_COLOR: '1', ...env }).map(([k, v]) => `${k}=${v}`);
  const full = user === 'nobody' ? ['runuser', '-u', 'nobody', '--', '/usr/bin/env', '-i', ...vars, ...argv] : ['/usr/bin/env', '-i', ...vars, ...argv];
  return spawnSync(full[0]!, full.slice(1), { cwd, encoding: 'utf8' });
}

/** A private home (0700) holding data/hello and, for the preparer, its own copy of the launcher. */
function home(user: User, dir: string, text: string): string {
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'data', 'hello'), text);
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.copyFileSync(launcher(base), path.join(dir, 'bin', 'envlock-launch'));
  fs.chmodSync(path.join(dir, 'bin', 'envlock-launch'), 0o755);
  if (user === 'nobody') execFileSync('chown', ['-R', `${NOBODY.uid}:${NOBODY.gid}`, dir]);
  fs.chmodSync(dir, 0o700);
  return dir;
}

interface Scene {
  tree: string;
  project: string;
  preparerEnv: Record<string, string>;
  runnerHome: string;
}

/** One preparer's shared tree and store (readable by all), a module binding ~/data, two homes. */
function scene(preparer: User, runner: User, storeAt: (root: string, home: string) => string): Scene {
  const root = fs.mkdtempSync(path.join(base, `${preparer}-`));
  fs.chmodSync(root, 0o755);
  const prepHome = home(preparer, path.join(root, 'prep-home'), `${preparer}'s data\n`);
  const runnerHome = home(runner, path.join(root, 'run-home'), `${runner}'s data\n`);
  const store = storeAt(root, prepHome);
  const project = makeProject(root, store, { env: 'shared', version: '1', commands: ['sh'] });
  // Binds are no part of the lock's declaration hash: the lock stays fresh.
  fs.appendFileSync(path.join(project.dir, 'envlock.yaml'), '    binds: ["~/data:/data:ro"]\n');
  const tree = path.join(root, 'tree');
  fs.mkdirSync(tree, { mode: 0o755 });
  if (preparer === 'nobody') {
    for (const dir of [project.dir, tree, ...(store.startsWith(prepHome) ? [] : [store])]) execFileSync('chown', ['-R', `${NOBODY.uid}:${NOBODY.gid}`, dir]);
    if (store.startsWith(prepHome)) execFileSync('chown', ['-R', `${NOBODY.uid}:${NOBODY.gid}`, prepHome]);
  }
  const preparerEnv = { HOME: prepHome, ENVLOCK_STORE: store, ENVLOCK_LAUNCHER: path.join(prepHome, 'bin', 'envlock-launch'), ENVLOCK_MODULEPATH: tree };
  return { tree, project: project.dir, preparerEnv, runnerHome };
}

const PAIRS = [['root', 'nobody'], ['nobody', 'root']] as const;

describe.each(PAIRS)('a module prepared by %s in a shared tree, run by %s', (preparer, runner) => {
  it('runs with the runner\'s home bound where the declaration says ~, through a launcher every user can execute', () => {
    const s = scene(preparer, runner, (root) => path.join(root, 'store'));
    const published = as(preparer, [process.execPath, CLI_PATH, 'module', 'publish', '1'], s.preparerEnv, s.project);
    expect(published.stderr).toBe('');
    expect(published.status).toBe(0);
    const script = `. ${path.join(REPO_ROOT, 'shim', 'envlock.sh')}; module load shared/1 && sh -c 'cat /data/hello'`;
    const ran = as(runner, ['sh', '-c', script], { HOME: s.runnerHome, ENVLOCK_MODULEPATH: s.tree });
    expect(ran.stderr).toBe('');
    expect(ran.stdout).toBe(`${runner}'s data\n`);
    // The preparer, with its own home, sees its own data through the same wrappers.
    const own = as(preparer, ['sh', '-c', script], { HOME: s.preparerEnv.HOME!, ENVLOCK_MODULEPATH: s.tree });
    expect(own.stdout).toBe(`${preparer}'s data\n`);
    // Without a usable home, a module that binds one refuses instead of running without it.
    const homeless = as(runner, ['sh', '-c', script], { HOME: '/nonexistent', ENVLOCK_MODULEPATH: s.tree });
    expect(homeless.stdout).toBe('');
    expect(homeless.stderr).toContain('shared/1 binds directories of your home, so HOME must name an existing directory');
  });

  it('is refused at publish when its image lies in a store only the preparer can read', () => {
    const s = scene(preparer, runner, (_root, prepHome) => path.join(prepHome, 'store'));
    const published = as(preparer, [process.execPath, CLI_PATH, 'module', 'publish', '1'], s.preparerEnv, s.project);
    expect(published.stderr).toBe(`error: The image of module shared/1 lies in the store ${s.preparerEnv.ENVLOCK_STORE}, which other users of the module tree cannot read.\nhint: Pull it into a store every user can read (for example \`ENVLOCK_STORE=/sw/envlock-store envlock pull\`) and publish again, or publish into a tree only you read.\n`);
    expect(published.status).toBe(1);
  });
});
