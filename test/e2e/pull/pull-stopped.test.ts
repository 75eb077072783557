// A pull stopped with SIGSTOP (Ctrl-Z) for longer than the lock's stale limit, while a second
// pull of the same image waits (issue 13.2), as root and as nobody: the stopped holder is alive,
// so the waiter never breaks its lock nor deletes its half-built rootfs; on SIGCONT the first
// pull completes, and the waiter uses its result instead of unpacking again. The old heartbeat
// stalled with the process, and the waiter removed the live build as a dead one's leftover.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeTempDir, removeTempDirs, runCli } from '../../helpers/cli.js';
import { lockedProject } from './pull-helpers.js';
import { pushManyFilesImage, startPullUntilUnpacking } from './pull-mid-unpack.js';

const registry = inject('registry');

beforeAll(async () => {
  // Seconds of unpacking, so the stop lands in the middle of it.
  await pushManyFilesImage(registry, 'stopped-pull');
}, 120_000);
afterAll(() => removeTempDirs());

/** Both forms take their own lock (rootfs-<hex>, squashfs-<hex>) and leave their build in tmp/. */
const CASES = [
  { name: 'root', form: 'tree', build: 'rootfs-' },
  { name: 'nobody', asUser: 'nobody' as const, form: 'tree', build: 'rootfs-' },
  { name: 'nobody', asUser: 'nobody' as const, form: 'squashfs', build: 'squashfs-' },
];
/** A one-second stale limit: the stop below lasts several times as long. */
const STALE = { ENVLOCK_LOCK_STALE_SECONDS: '1' };

describe.each(CASES)('a pull stopped while it builds a $form, as $name', (caller) => {
  it('keeps its lock and its build; the waiting pull uses its result', async () => {
    const forUser = caller.asUser ? { forUser: caller.asUser } : {};
    const dir = await lockedProject(`${registry}/stopped-pull:latest`, forUser);
    const store = join(makeTempDir('store', forUser), 's');
    const env = { HOME: dir, ENVLOCK_STORE: store, ENVLOCK_IMAGE_FORMAT: caller.form, ...STALE };
    const { child: first, stderr, closed: firstClosed } = await startPullUntilUnpacking(dir, env, caller.asUser);
    first.kill('SIGSTOP');
    try {
      const waiting = runCli(['pull', '--json'], { cwd: dir, env, ...(caller.asUser ? { asUser: caller.asUser } : {}) });
      // Stopped for five stale limits while the second pull waits.
      await new Promise((r) => setTimeout(r, 5_000));
      expect(readdirSync(join(store, 'tmp')).filter((n) => n.startsWith(caller.build))).toHaveLength(1);
      first.kill('SIGCONT');
      expect(await firstClosed, stderr()).toBe(0);
      const second = await waiting;
      expect(second.code, second.stderr).toBe(0);
      const result = second.json<{ result: { environments: { unpacked: boolean; downloaded: string[] }[] } }>().result;
      expect(result.environments.map((e) => e.unpacked)).toEqual([false]);
    } finally {
      first.kill('SIGCONT');
    }
    expect(readdirSync(join(store, 'tmp')).filter((n) => n.startsWith(caller.build))).toEqual([]);
    const verify = await runCli(['verify'], { cwd: dir, env, ...(caller.asUser ? { asUser: caller.asUser } : {}) });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  });
});
