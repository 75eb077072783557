// scancel of a running `srun --envlock` step: every task ends, and nothing of the step stays
// behind on the nodes: no process in its namespaces, no holder, no mount, no lease.

import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, runCli } from '../../helpers/cli.js';
import { runJob } from '../../helpers/slurm-jobs.js';
import { asUser, sitePull, startWorld, userProject, yamlFor, type UserProject, type World, WORLD_TIMEOUT_MS } from './fixture.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Pids of processes whose user or mount namespace is one of `inodes` (`user:[N]`, `mnt:[N]`). */
function processesIn(inodes: Set<string>): number[] {
  const found: number[] = [];
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (['user', 'mnt'].some((ns) => inodes.has(readlinkSync(`/proc/${pid}/ns/${ns}`)))) found.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function hostMountsMentioning(path: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => line.includes(path));
}

describe('scancel of a running --envlock step', () => {
  let world: World;
  let user: UserProject;
  beforeAll(async () => {
    world = await startWorld({ plugin: true });
    const admin = await sitePull(world, yamlFor(world));
    // The image in the user's own writable store, so the step holds leases there.
    user = userProject({ dir: admin.dir });
    const pulled = await runCli(['pull', '-q'], { cwd: user.dir, env: user.env, asUser: 'nobody' });
    expect(pulled.code, pulled.stderr).toBe(0);
  }, WORLD_TIMEOUT_MS);
  afterAll(async () => {
    await world?.stop();
    removeTempDirs();
  });

  it('ends every task and leaves no process, holder, mount or lease behind', async () => {
    const store = user.env.ENVLOCK_STORE!;
    const leases = join(store, 'leases');
    const mountsBefore = hostMountsMentioning(store);
    const step = asUser(world, user, ['srun', '-N4', '-n8', '--envlock=bb', 'sh', '-c', '{ readlink /proc/self/ns/user; readlink /proc/self/ns/mnt; } > ns.$SLURM_PROCID; exec sleep 300']);
    const files = Array.from({ length: 8 }, (_, i) => join(user.dir, `ns.${i}`));
    await until('all eight tasks to start', () => (files.every((f) => existsSync(f) && readFileSync(f, 'utf8').split('\n').length >= 3) ? true : undefined));
    const inodes = new Set(files.flatMap((f) => readFileSync(f, 'utf8').trim().split('\n')));
    // One namespace pair per node: four user and four mount namespaces for eight tasks.
    expect(inodes.size).toBe(8);
    // The eight tasks, and for a squashfs image the holder with its FUSE server.
    expect(processesIn(inodes).length).toBeGreaterThanOrEqual(8);
    expect(readdirSync(leases)).toHaveLength(4);

    const jobs = await runJob(world.cluster, ['squeue', '-h', '-u', 'nobody', '-o', '%i'], { cwd: user.dir });
    const jobId = jobs.stdout.trim();
    expect(jobId).toMatch(/^\d+$/);
    const cancelled = await asUser(world, user, ['scancel', `${jobId}.0`]);
    expect(cancelled.code, cancelled.stderr).toBe(0);

    const result = await step;
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/CANCELLED|Terminated|Killed/);
    await until('the step\'s processes to go', () => (processesIn(inodes).length === 0 ? true : undefined));
    await until('the leases to go', () => (readdirSync(leases).length === 0 ? true : undefined), 15_000);
    expect(hostMountsMentioning(store)).toEqual(mountsBefore);
  });
});
