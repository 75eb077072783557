// The test cluster itself: four real slurmd nodes that run jobs as `nobody` through srun and
// sbatch, started by the harness in a few seconds and gone without a trace after stop().

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDirs } from '../../helpers/cli.js';
import { startSlurmCluster, type SlurmCluster } from '../../helpers/slurm-cluster.js';
import { runJob, sbatchAndWait, sortedLines } from '../../helpers/slurm-jobs.js';

describe('the Slurm test cluster', () => {
  let cluster: SlurmCluster;
  let startMs = 0;
  beforeAll(async () => {
    const t0 = Date.now();
    cluster = await startSlurmCluster();
    startMs = Date.now() - t0;
  });
  afterAll(async () => {
    await cluster?.stop();
    removeTempDirs();
  });

  it('starts four nodes within a few seconds', () => {
    expect(cluster.nodes).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(startMs).toBeLessThan(15_000);
  });

  it('runs srun tasks as nobody on every node, each with its own rank', async () => {
    const dir = makeTempDir('slurm-cwd', { forUser: 'nobody' });
    const result = await runJob(cluster, ['srun', '-N4', '-n8', 'sh', '-c', 'echo "$SLURM_PROCID $SLURMD_NODENAME $(id -u)"'], { cwd: dir, asUser: 'nobody' });
    expect(result.code, result.stderr).toBe(0);
    const lines = sortedLines(result.stdout);
    expect(lines).toHaveLength(8);
    expect(new Set(lines.map((l) => l.split(' ')[0]))).toEqual(new Set(['0', '1', '2', '3', '4', '5', '6', '7']));
    expect(new Set(lines.map((l) => l.split(' ')[1]))).toEqual(new Set(cluster.nodes));
    expect(lines.every((l) => l.endsWith(' 65534'))).toBe(true);
  });

  it('runs an sbatch job as nobody and passes its exit status back', async () => {
    const dir = makeTempDir('slurm-batch', { forUser: 'nobody' });
    writeFileSync(join(dir, 'job.sh'), '#!/bin/sh\n#SBATCH -N2\nsrun -N2 -n2 sh -c \'echo step $SLURM_PROCID\'\nexit 3\n', { mode: 0o755 });
    const result = await sbatchAndWait(cluster, ['-o', 'out.txt', 'job.sh'], { cwd: dir, asUser: 'nobody' });
    expect(result.code).toBe(3);
    const { readFileSync } = await import('node:fs');
    expect(sortedLines(readFileSync(join(dir, 'out.txt'), 'utf8'))).toEqual(['step 0', 'step 1']);
  });

  it('a second cluster runs beside the first, and stop() removes its scratch directory', async () => {
    const second = await startSlurmCluster({ nodes: 1 });
    const dir = makeTempDir('slurm-second', { forUser: 'nobody' });
    const result = await runJob(second, ['srun', '-N1', 'sh', '-c', 'echo $SLURMD_NODENAME'], { cwd: dir, asUser: 'nobody' });
    expect(result.stdout.trim()).toBe('n1');
    await second.stop();
    expect(existsSync(second.dir)).toBe(false);
  });
});
