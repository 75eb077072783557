// A pull stopped with SIGSTOP (Ctrl-Z) for longer than the lock's stale limit, while a second
// pull of the same image waits (issue 13.2), as root and as nobody: the stopped holder is alive,
// so the waiter never breaks its lock nor deletes its half-built rootfs; on SIGCONT the first
// pull completes, and the waiter uses its result instead of unpacking again. The old heartbeat
// stalled with the process, and the waiter removed the live build as a dead one's leftover.

import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLI_PATH, makeTempDir, removeTempDirs, runCli } from '../../helpers/cli.js';
import { busyboxEntries } from '../../helpers/busybox-layer.js';
import { buildImage, pushImage, type BuiltImage } from '../../helpers/image-builder.js';
import { tarEntries, type TarEntry } from '../../helpers/tar-writer.js';
import { lockedProject } from './pull-helpers.js';

const registry = inject('registry');
let image: BuiltImage;

/** busybox and 12 000 small files: seconds of unpacking, so the stop lands in the middle of it. */
function manyFilesLayer(): Buffer {
  const entries: TarEntry[] = [...busyboxEntries()];
  for (let d = 0; d < 60; d++) {
    entries.push({ path: `data/d${d}/`, type: 'dir' });
    for (let f = 0; f < 200; f++) entries.push({ path: `data/d${d}/f${f}`, type: 'file', mode: 0o644, content: Buffer.from(`${d}/${f}\n`) });
  }
  return tarEntries(entries);
}

beforeAll(async () => {
  image = buildImage({ layers: [manyFilesLayer()], platform: { os: 'linux', architecture: 'amd64' }, createdBy: `stopped-${Date.now()}` });
  await pushImage(registry, 'stopped-pull', 'latest', image);
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
    // setpriv execs node itself, so the child's pid is the pull's own, the one to stop.
    const first = spawn(caller.asUser ? 'setpriv' : process.execPath, [
      ...(caller.asUser ? ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath] : []), CLI_PATH, 'pull',
    ], { cwd: dir, env: { ...process.env, ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    first.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const firstClosed = new Promise<number | null>((resolve) => first.on('close', resolve));
    const deadline = Date.now() + 60_000;
    while (!/unpacking layer 1\/1 \S+: started/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    first.kill('SIGSTOP');
    try {
      const waiting = runCli(['pull', '--json'], { cwd: dir, env, ...(caller.asUser ? { asUser: caller.asUser } : {}) });
      // Stopped for five stale limits while the second pull waits.
      await new Promise((r) => setTimeout(r, 5_000));
      expect(readdirSync(join(store, 'tmp')).filter((n) => n.startsWith(caller.build))).toHaveLength(1);
      first.kill('SIGCONT');
      expect(await firstClosed, stderr).toBe(0);
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
