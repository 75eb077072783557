// The module shim in a batch job: an administrator publishes an environment as a module (image
// in the site store); a user's sbatch script loads it through `module load` and runs `srun CMD`,
// and every task on every node runs CMD inside the locked environment.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDirs, runCli } from '../../helpers/cli.js';
import { sbatchAndWait, sortedLines } from '../../helpers/slurm-jobs.js';
import { sitePull, startWorld, userProject, yamlFor, type World, WORLD_TIMEOUT_MS } from './fixture.js';

describe('the module shim in a batch job', () => {
  let world: World;
  let tree: string;
  let site: string;
  beforeAll(async () => {
    world = await startWorld();
    // `env` is the module's command: the wrapper prints the environment it runs in.
    const admin = await sitePull(world, yamlFor(world, '    commands: [env]\n'));
    site = admin.site;
    tree = join(makeTempDir('slurm-modules'), 'tree');
    const published = await runCli(['module', 'publish', '1.0', '--tree', tree, '--default'], { cwd: admin.dir, env: { ENVLOCK_STORE: site } });
    expect(published.code, published.stderr).toBe(0);
    execFileSync('chmod', ['-R', 'a+rX', join(tree, '..')]);
  }, WORLD_TIMEOUT_MS);
  afterAll(async () => {
    await world?.stop();
    removeTempDirs();
  });

  it('`module load` then `srun CMD` runs CMD inside the environment on every node', async () => {
    const user = userProject({ dir: '/nonexistent', site });
    const script = [
      '#!/bin/bash',
      '#SBATCH -N4',
      'set -eu',
      'eval "$(envlock shim bash)"',
      'module load bb',
      'srun -N4 -n4 env > tasks.out',
      'module list 2>&1',
      '',
    ].join('\n');
    writeFileSync(join(user.dir, 'job.sh'), script, { mode: 0o755 });
    const result = await sbatchAndWait(world.cluster, ['-o', 'job.out', 'job.sh'], {
      cwd: user.dir, asUser: 'nobody', bin: world.bin, env: { ...user.env, ENVLOCK_MODULEPATH: tree },
    });
    const log = readFileSync(join(user.dir, 'job.out'), 'utf8');
    expect(result.code, log).toBe(0);
    expect(log).toContain('bb/1.0');
    const tasks = readFileSync(join(user.dir, 'tasks.out'), 'utf8');
    // Each task keeps its own place in the step: one task on each of the four nodes.
    expect(sortedLines(tasks).filter((l) => l.startsWith('SLURM_NODEID='))).toEqual(['0', '1', '2', '3'].map((n) => `SLURM_NODEID=${n}`));
    expect(sortedLines(tasks).filter((l) => l.startsWith('SLURM_PROCID='))).toEqual(['0', '1', '2', '3'].map((n) => `SLURM_PROCID=${n}`));
    expect(sortedLines(tasks).filter((l) => l.startsWith('GREETING='))).toEqual(Array(4).fill('GREETING=hello from the declaration'));
    expect(sortedLines(tasks).filter((l) => l.startsWith('ENVLOCK_TEST_IMAGE='))).toEqual(Array(4).fill('ENVLOCK_TEST_IMAGE=busybox'));
    expect(sortedLines(tasks).filter((l) => l.startsWith('ENVLOCK_ENV='))).toEqual(Array(4).fill('ENVLOCK_ENV=bb'));
  });
});
