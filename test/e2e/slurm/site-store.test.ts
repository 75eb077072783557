// The site-store workflow on four nodes, with the image in either form: an administrator pulls
// once into a store on the shared filesystem (as a tree, or as one squashfs file); users list it
// in ENVLOCK_STORE_RO and run from it on every node, through `srun envlock run` and through the
// plugin, with nothing downloaded or copied.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../../helpers/cli.js';
import { sortedLines } from '../../helpers/slurm-jobs.js';
import { asUser, downloads, sitePull, startWorld, storeEntries, userProject, yamlFor, type UserProject, type World, WORLD_TIMEOUT_MS } from './fixture.js';

const SHOW = 'echo "$SLURM_PROCID $SLURMD_NODENAME $(id -u) $(. /etc/os-release; echo $ID) $GREETING"';

const FORMS = ['tree', 'squashfs'] as const;
type Form = (typeof FORMS)[number];

describe('a read-only site store on four nodes', () => {
  let world: World;
  const users = {} as Record<Form, UserProject>;
  let user: UserProject;
  beforeAll(async () => {
    world = await startWorld({ plugin: true });
    for (const form of FORMS) {
      const admin = await sitePull(world, yamlFor(world), { ENVLOCK_IMAGE_FORMAT: form });
      // The site store holds the image in exactly the form the administrator asked for.
      expect(storeEntries(admin.site).filter((e) => !e.startsWith('blobs/')).map((e) => e.replace(/\/[0-9a-f]{64}/, '/HEX')).sort()).toEqual(
        form === 'tree' ? ['rootfs/sha256/HEX', 'rootfs/sha256/HEX.json', 'rootfs/sha256/HEX.tree.gz'] : ['squashfs/sha256/HEX.json', 'squashfs/sha256/HEX.sqfs'],
      );
      users[form] = userProject(admin);
    }
    user = users.tree;
  }, WORLD_TIMEOUT_MS);
  afterAll(async () => {
    await world?.stop();
    removeTempDirs();
  });

  function expectEveryTask(stdout: string, tasks: number): void {
    const lines = sortedLines(stdout);
    expect(lines).toHaveLength(tasks);
    expect(new Set(lines.map((l) => Number(l.split(' ')[0])))).toEqual(new Set(Array.from({ length: tasks }, (_, i) => i)));
    expect(new Set(lines.map((l) => l.split(' ')[1]))).toEqual(new Set(['n1', 'n2', 'n3', 'n4']));
    for (const line of lines) expect(line).toMatch(/^\d+ n\d 65534 envlock-test hello from the declaration$/);
  }

  it('every task finds the envlock that scripts/install.sh linked into the bin directory on PATH', async () => {
    const result = await asUser(world, user, ['srun', '-N4', '-n4', 'sh', '-c', 'command -v envlock; readlink -f "$(command -v envlock)"']);
    expect(result.code, result.stderr).toBe(0);
    const installed = join(world.bin, '..', 'opt', 'envlock', 'bin', 'envlock');
    expect(sortedLines(result.stdout)).toEqual([...Array(4).fill(join(world.bin, 'envlock')), ...Array(4).fill(installed)].sort());
  });

  it.each(FORMS)('srun envlock run from a %s: every task runs in the image as nobody, and nothing is downloaded or copied', async (form) => {
    const user = users[form];
    const before = world.proxy.requests.length;
    const result = await asUser(world, user, ['srun', '-N4', '-n8', 'envlock', 'run', 'bb', '--', 'sh', '-c', SHOW]);
    expect(result.code, result.stderr).toBe(0);
    expectEveryTask(result.stdout, 8);
    expect(world.proxy.requests.slice(before)).toEqual([]);
    expect(storeEntries(user.env.ENVLOCK_STORE!)).toEqual([]);
  });

  it.each(FORMS)('srun --envlock from a %s: the same on every node through the plugin, with nothing downloaded or copied', async (form) => {
    const user = users[form];
    const before = world.proxy.requests.length;
    const result = await asUser(world, user, ['srun', '-N4', '-n8', '--envlock=bb', 'sh', '-c', SHOW]);
    expect(result.code, result.stderr).toBe(0);
    expectEveryTask(result.stdout, 8);
    expect(downloads(world, before)).toEqual([]);
    expect(world.proxy.requests.slice(before)).toEqual([]);
    expect(storeEntries(user.env.ENVLOCK_STORE!)).toEqual([]);
  });

  it('a node whose environment points at a missing store fails its task with a clear message; the others run', async () => {
    // Every node but n3 sees the stores; on n3 the shared filesystem is "not mounted".
    const script = `if [ "$SLURMD_NODENAME" = n3 ]; then export ENVLOCK_STORE_RO=/nonexistent/site ENVLOCK_STORE=/nonexistent/store; fi; exec envlock run bb -- sh -c '${SHOW.replace(/'/g, "'\\''")}'`;
    const result = await asUser(world, user, ['srun', '-N4', '-n4', '--kill-on-bad-exit=0', 'sh', '-c', script]);
    expect(result.code).toBe(1);
    const lines = sortedLines(result.stdout);
    expect(lines.map((l) => l.split(' ')[1]).sort()).toEqual(['n1', 'n2', 'n4']);
    expect(result.stderr).toContain('error: The store at /nonexistent/store is not writable');
    expect(result.stderr).toMatch(/n3: task \d: Exited with exit code 1/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
