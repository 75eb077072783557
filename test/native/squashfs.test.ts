// Squashfs images as root and as nobody: the FUSE server lives exactly as long as its users
// (no process left after exit, kill or a scancel-like SIGTERM to every process, and none
// lost to such a SIGTERM mid-job), and every way a squashfs entry can fail says so in one line.

import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLERS, LAUNCHER, ROOT, ensureNativeBuild, launcherFeatures, makeRootfs, makeSquashfs, openFuseToUsers, processesWith, publicTempDir, removeTree, runWithSpecFd, waitUntil } from './fixture.js';
import { skipWithout } from '../helpers/features.js';
import { launcherSources } from '../../scripts/launcher-sources.mjs';

const SQUASHFS = launcherFeatures().includes('squashfs');
let rootfs: string;
let image: string;
let work: string;

beforeAll(() => {
  ensureNativeBuild();
  openFuseToUsers();
  rootfs = makeRootfs();
  image = makeSquashfs(rootfs);
  work = publicTempDir('envlock-sqfs-work-');
  chmodSync(work, 0o777);
});

afterAll(() => {
  for (const dir of [rootfs, path.dirname(image), work]) removeTree(dir);
});

/** These tests are about the per-run server, so warm starts (a lingering holder) are off. */
const COLD = { PATH: '/usr/bin:/bin', ENVLOCK_WARM: '0' };
const spec = (img: string, extra = '') => `envlock-launch-spec 1\nsquashfs ${img}\nenv PATH=/bin\ncwd ${work}\n${extra}`;

describe.each(CALLERS)('a squashfs image as $name', ({ name, prefix }) => {
  it.skipIf(skipWithout('squashfs', SQUASHFS))('serves the image through a scancel-style SIGTERM to every process, and leaves none behind', async () => {
    const tag = `envlock-scancel-${process.pid}-${name}`;
    const ready = path.join(work, `${tag}.ready`);
    // On SIGTERM the command still reads from the image, as a job saving its state would.
    // Every process gets the signal (and the relays pass it on), so the trap ignores repeats.
    const script = `trap 'trap "" TERM; cat /etc/os-release; exit 0' TERM; touch ${ready}; while :; do sleep 0.1; done; : ${tag}`;
    const pending = runWithSpecFd(spec(image), ['sh', '-c', script], { prefix, env: COLD });
    expect(await waitUntil(() => spawnSync('test', ['-e', ready]).status === 0)).toBe(true);
    const all = processesWith(tag);
    // The launcher, the init, the squashfs server and the command.
    expect(all.length).toBeGreaterThanOrEqual(4);
    for (const p of all) process.kill(p.pid, 'SIGTERM');
    const result = await pending;
    expect(result.stdout).toBe('NAME="envlock-test"\nID=envlocktest\n');
    expect(result.status).toBe(0);
    expect(await waitUntil(() => processesWith(tag).length === 0, 3000)).toBe(true);
  });

  it.skipIf(skipWithout('squashfs', SQUASHFS))('leaves no server when the launcher is killed with SIGKILL', async () => {
    const tag = `envlock-sqkill-${process.pid}-${name}`;
    const ready = path.join(work, `${tag}.ready`);
    let pid = 0;
    const pending = runWithSpecFd(spec(image), ['sh', '-c', `touch ${ready}; sleep 30; : ${tag}`], { prefix, env: COLD, onSpawn: (p) => (pid = p) });
    expect(await waitUntil(() => pid !== 0 && spawnSync('test', ['-e', ready]).status === 0)).toBe(true);
    const all = processesWith(tag);
    const init = all.find((p) => p.ppid === pid && p.exe === LAUNCHER);
    // The server: the init's child still running the launcher (the command runs busybox).
    expect(all.filter((p) => p.ppid === init?.pid && p.exe === LAUNCHER)).toHaveLength(1);
    process.kill(pid, 'SIGKILL');
    await pending;
    expect(await waitUntil(() => processesWith(tag).length === 0, 3000)).toBe(true);
  });

  it.skipIf(skipWithout('squashfs', SQUASHFS))('refuses a damaged or foreign image file in one line', async () => {
    const dir = publicTempDir('envlock-bad-sqfs-');
    const garbage = path.join(dir, 'garbage.sqfs');
    writeFileSync(garbage, Buffer.alloc(8192, 7), { mode: 0o644 });
    const truncated = path.join(dir, 'truncated.sqfs');
    writeFileSync(truncated, readFileSync(image), { mode: 0o644 });
    truncateSync(truncated, 4096);
    // The superblock's bytes_used (offset 40); the file itself is padded to 4 KiB.
    const size = readFileSync(image).readBigUInt64LE(40);
    const cases = [
      [garbage, 'not a squashfs image'],
      [truncated, `truncated (4096 of ${size} bytes)`],
    ];
    for (const [bad, why] of cases) {
      const result = await runWithSpecFd(spec(bad!), ['true'], { prefix, env: COLD });
      expect(result.stderr).toBe(`envlock-launch: squashfs: cannot read ${bad}: ${why}; check it with \`envlock verify\` and repair it with \`envlock pull --repair\`\n`);
      expect(result.status).toBe(125);
    }
    removeTree(dir);
  });

  it.skipIf(skipWithout('squashfs', SQUASHFS))('says how to fix an inaccessible /dev/fuse and exits 4', async () => {
    // A private mount namespace where /dev/fuse is out of reach: the stock 0600 mode for nobody
    // (EACCES), no FUSE device at all for root (root may open any file).
    const blocker = path.join(work, `fuse-blocker-${name}`);
    writeFileSync(blocker, '', { mode: 0o600 });
    const block = name === 'root' ? 'mount -t tmpfs none /dev' : `mount --bind ${blocker} /dev/fuse`;
    const wrapped = ['unshare', '-m', '--propagation', 'private', 'sh', '-c', `${block} && exec "$@"`, 'sh', ...prefix];
    const result = await runWithSpecFd(spec(image), ['true'], { prefix: wrapped, env: COLD });
    const why = name === 'root' ? 'No such file or directory \\(errno 2\\)' : 'Permission denied \\(errno 13\\)';
    expect(result.stderr).toMatch(new RegExp(`^envlock-launch: squashfs: cannot open /dev/fuse to mount ${image}: ${why}; an administrator must load the fuse module and make /dev/fuse mode 0666 \\(as udev does on a stock host\\), or use the tree image format \\(envlock pull --image-format tree\\)\\n$`));
    expect(result.status).toBe(4);
    rmSync(blocker, { recursive: true, force: true });
  });
});

describe('a launcher built without squashfs support', () => {
  it('enters trees, refuses squashfs images with exit 4, and does not list the feature', async () => {
    const dir = publicTempDir('envlock-nosqfs-');
    const launcher = path.join(dir, 'envlock-launch');
    execFileSync('cc', ['-std=gnu11', '-O0', ...launcherSources(ROOT), '-o', launcher], { stdio: 'pipe' });
    expect(execFileSync(launcher, ['--features'], { encoding: 'utf8' })).not.toContain('squashfs');
    const tree = await runWithSpecFd(`envlock-launch-spec 1\nrootfs ${rootfs}\nenv PATH=/bin\ncwd /\nbind-cwd no\n`, ['cat', '/etc/os-release'], { launcher });
    expect(tree.stdout).toBe('NAME="envlock-test"\nID=envlocktest\n');
    const result = await runWithSpecFd(spec(image), ['true'], { launcher });
    expect(result.stderr).toBe(`envlock-launch: squashfs: cannot mount ${image}: this envlock-launch was built without squashfs support (libsquashfuse-dev and libfuse3-dev were missing); install them and run \`npm rebuild envlock\`, or use the tree image format (envlock pull --image-format tree)\n`);
    expect(result.status).toBe(4);
    removeTree(dir);
  });
});
