// `srun --envlock=NAME` and `#SBATCH --envlock=NAME` through envlock's SPANK plugin on four real
// nodes, as nobody: tasks keep their own ranks, exit statuses, signals and output; a bad value,
// an unknown name, a stale lock, an image in no store, a CPU the lock cannot serve and a missing
// project directory all fail before any task runs, with envlock's one-sentence error.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDirs } from '../../helpers/cli.js';
import { sbatchAndWait, sortedLines } from '../../helpers/slurm-jobs.js';
import { asUser, sitePull, startWorld, userProject, yamlFor, type UserProject, type World, WORLD_TIMEOUT_MS } from './fixture.js';

/** The host's os-release ID: the batch script sees the host, its steps the image. */
function hostId(): string {
  return /^ID=(.*)$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1]?.replace(/"/g, '') ?? '';
}

describe('srun --envlock through the SPANK plugin', () => {
  let world: World;
  let admin: { dir: string; site: string };
  let user: UserProject;
  beforeAll(async () => {
    world = await startWorld({ plugin: true });
    admin = await sitePull(world, yamlFor(world, '    prepend-path: { OMP_PLACES: [cores] }\n'));
    user = userProject(admin);
  }, WORLD_TIMEOUT_MS);
  afterAll(async () => {
    await world?.stop();
    removeTempDirs();
  });

  /** A fresh copy of the user's project, to break without disturbing the other tests. */
  function scratchProject(): UserProject {
    return userProject(admin);
  }

  it('keeps each task\'s Slurm variables under the environment\'s own', async () => {
    const result = await asUser(world, user, ['srun', '-N4', '-n8', '--ntasks-per-node=2', '--envlock=bb', 'sh', '-c', 'echo "$SLURM_PROCID $SLURM_LOCALID $SLURMD_NODENAME $ENVLOCK_ENV $PATH"']);
    expect(result.code, result.stderr).toBe(0);
    const lines = sortedLines(result.stdout).map((l) => l.split(' '));
    expect(lines.map((l) => l[0]).sort()).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    expect(new Set(lines.map((l) => l[2]))).toEqual(new Set(['n1', 'n2', 'n3', 'n4']));
    // Two tasks per node: local ranks 0 and 1 on each.
    for (const node of ['n1', 'n2', 'n3', 'n4']) expect(lines.filter((l) => l[2] === node).map((l) => l[1]).sort()).toEqual(['0', '1']);
    for (const l of lines) expect(l.slice(3)).toEqual(['bb', '/usr/local/bin:/usr/bin:/bin']);
  });

  it('a variable the declaration edits keeps the declared value; one it does not comes from the task', async () => {
    const result = await asUser(world, user, ['srun', '-N2', '-n2', '--envlock=bb', 'sh', '-c', 'echo "$OMP_PLACES|$OMP_NUM_THREADS|$SLURM_PROCID"'], { env: { OMP_PLACES: 'threads', OMP_NUM_THREADS: '8' } });
    expect(result.code, result.stderr).toBe(0);
    expect(sortedLines(result.stdout)).toEqual(['cores:threads|8|0', 'cores:threads|8|1']);
  });

  it('runs envlock (Node) once per node and step, not once per task', async () => {
    const calls = join(makeTempDir('slurm-calls', { forUser: 'nobody' }), 'calls');
    const counter = join(world.scratch, 'counting-node');
    writeFileSync(counter, `#!/bin/sh\necho "$$" >> '${calls}'\nexec '${process.execPath}' "$@"\n`, { mode: 0o755 });
    world.cluster.setPlugstack([world.plugstack!.replace(/ node=\S+/, ` node=${counter}`)]);
    try {
      const result = await asUser(world, user, ['srun', '-N4', '-n32', '--envlock=bb', 'true']);
      expect(result.code, result.stderr).toBe(0);
      expect(readFileSync(calls, 'utf8').trim().split('\n')).toHaveLength(4);
    } finally {
      world.cluster.setPlugstack([world.plugstack!]);
    }
  });

  it('passes each task\'s exit status, stdout and stderr through, and the command is found on the image\'s PATH', async () => {
    const result = await asUser(world, user, ['srun', '-N2', '-n2', '--envlock=bb', 'sh', '-c', 'echo "out $SLURM_PROCID"; echo "err $SLURM_PROCID" >&2; exit $((SLURM_PROCID + 3))']);
    expect(result.code).toBe(4);
    expect(sortedLines(result.stdout)).toEqual(['out 0', 'out 1']);
    expect(result.stderr).toContain('err 0');
    expect(result.stderr).toContain('err 1');
    expect(result.stderr).toMatch(/task 1: Exited with exit code 4/);
  });

  it('a task killed by a signal is reported as killed, like any task', async () => {
    const result = await asUser(world, user, ['srun', '-N1', '-n1', '--envlock=bb', 'sh', '-c', 'kill -TERM $$']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/task 0: Terminated/);
  });

  it('reads the project from --envlock-project while the tasks keep the working directory', async () => {
    const elsewhere = makeTempDir('slurm-elsewhere', { forUser: 'nobody' });
    const result = await asUser(world, { ...user, dir: elsewhere }, ['srun', '-N2', '-n2', `--envlock-project=${user.dir}`, '--envlock=bb', 'sh', '-c', 'echo "$(pwd) $GREETING"']);
    expect(result.code, result.stderr).toBe(0);
    expect(sortedLines(result.stdout)).toEqual([`${elsewhere} hello from the declaration`, `${elsewhere} hello from the declaration`]);
  });

  describe('refuses the step before any task runs', () => {
    const MARK = 'touch task-ran; echo task-ran';

    async function refused(project: UserProject, args: string[], code: number | 'nonzero', message: string): Promise<void> {
      const result = await asUser(world, project, ['srun', '-N2', '-n4', ...args, 'sh', '-c', MARK]);
      if (code === 'nonzero') expect(result.code).not.toBe(0);
      else expect(result.code, result.stderr).toBe(code);
      expect(result.stdout).not.toContain('task-ran');
      expect(existsSync(join(project.dir, 'task-ran'))).toBe(false);
      expect(result.stderr).toContain(message);
      expect(result.stderr).toMatch(/^hint: /m);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }

    it('an empty name, a name with `/` or with a line break (srun itself refuses)', async () => {
      await refused(user, ['--envlock='], 'nonzero', 'error: The environment name "" given to --envlock is empty.');
      await refused(user, ['--envlock=team/bb'], 'nonzero', 'error: The environment name "team/bb" given to --envlock contains `/`.');
      await refused(user, ['--envlock=b\nb'], 'nonzero', 'error: The environment name "b\\nb" given to --envlock contains a line break.');
    });

    it('a project directory that does not exist', async () => {
      await refused(user, ['--envlock=bb', '--envlock-project=/nonexistent/project'], 'nonzero', 'error: The project directory /nonexistent/project given to --envlock-project does not exist.');
    });

    it('an unknown name (exit 1)', async () => {
      await refused(user, ['--envlock=nope'], 1, 'error: There is no environment `nope` in envlock.yaml.');
    });

    it('a stale lock (exit 3)', async () => {
      const project = scratchProject();
      writeFileSync(join(project.dir, 'envlock.yaml'), readFileSync(join(project.dir, 'envlock.yaml'), 'utf8').replace('busybox:latest', 'busybox:amd64'));
      await refused(project, ['--envlock=bb'], 3, 'envlock.lock');
    });

    it('an image that is in no store (exit 1), without downloading it', async () => {
      const project = scratchProject();
      const before = world.proxy.requests.length;
      await refused({ ...project, env: { ...project.env, ENVLOCK_STORE_RO: '' } }, ['--envlock=bb'], 1, 'is not in any store on node n');
      expect(world.proxy.requests.slice(before)).toEqual([]);
    });

    it('a CPU the lock cannot serve (exit 4)', async () => {
      const project = scratchProject();
      const lock = join(project.dir, 'envlock.lock');
      writeFileSync(lock, readFileSync(lock, 'utf8').replace(/features = \[/g, 'features = ["amx-imaginary", '));
      await refused(project, ['--envlock=bb'], 4, 'amx-imaginary');
    });
  });

  describe('#SBATCH --envlock', () => {
    it('runs every srun step of the batch script inside the environment; the script itself runs on the host', async () => {
      const script = ['#!/bin/sh', '#SBATCH --envlock=bb', '#SBATCH -N4', '. /etc/os-release; echo "script $ID"', 'srun -N4 -n4 sh -c \'. /etc/os-release; echo "step $ID $SLURMD_NODENAME $GREETING"\'', ''].join('\n');
      writeFileSync(join(user.dir, 'job.sh'), script, { mode: 0o755 });
      const result = await sbatchAndWait(world.cluster, ['-o', 'job.out', 'job.sh'], { cwd: user.dir, asUser: 'nobody', bin: world.bin, env: user.env });
      expect(result.code, result.stderr).toBe(0);
      const lines = sortedLines(readFileSync(join(user.dir, 'job.out'), 'utf8'));
      expect(lines).toEqual([`script ${hostId()}`, ...['n1', 'n2', 'n3', 'n4'].map((n) => `step envlock-test ${n} hello from the declaration`)]);
    });

    it('refuses to submit a job whose --envlock value is bad', async () => {
      mkdirSync(join(user.dir, 'bad'), { recursive: true });
      writeFileSync(join(user.dir, 'bad.sh'), '#!/bin/sh\n#SBATCH --envlock=a/b\necho never\n', { mode: 0o755 });
      const result = await asUser(world, user, ['sbatch', 'bad.sh']);
      expect(result.code).not.toBe(0);
      expect(result.stdout).not.toContain('Submitted');
      expect(result.stderr).toContain('error: The environment name "a/b" given to --envlock contains `/`.');
    });
  });
});
