// Leases (Decision 4), as root and as nobody: a launch holds leases/NAME.HOST.PID.STARTTIME
// in the store while its command runs, keeps it fresh, and removes it however the command
// ends; an image removed after the run was prepared is a clear error that leaves no lease; an
// optional lease (`lease DIR NAME optional`) the caller may not take lets the command run.

import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLERS, ensureNativeBuild, launcherFeatures, makeRootfs, makeSquashfs, openFuseToUsers, publicTempDir, removeTree, runWithSpecFd, waitUntil } from './fixture.js';
import { skipWithout } from '../helpers/features.js';

let rootfs: string;
let image: string;
let store: string;

beforeAll(() => {
  ensureNativeBuild();
  openFuseToUsers();
  rootfs = makeRootfs();
  image = makeSquashfs(rootfs);
  store = publicTempDir('envlock-lease-store-');
  chmodSync(store, 0o777);
});

afterAll(() => {
  for (const dir of [rootfs, path.dirname(image), store]) removeTree(dir);
});

const NAME = `sha256-${'ab'.repeat(32)}`;
/** One launch's own lease; a warm holder's (which holds one too) is tested in warm.test.ts. */
const COLD = { PATH: '/usr/bin:/bin', ENVLOCK_WARM: '0' };
const FORMS = [
  { form: 'tree', line: () => `rootfs ${rootfs}`, skip: false },
  { form: 'squashfs', line: () => `squashfs ${image}`, skip: skipWithout('squashfs', launcherFeatures().includes('squashfs')) },
];

function leasesIn(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** Field 22 of /proc/PID/stat: the start time gc compares. */
function startTime(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

describe.each(CALLERS.flatMap((c) => FORMS.map((f) => ({ ...c, ...f }))))('a lease on a $form as $name', ({ name, prefix, form, line, skip }) => {
  let leases = '';
  const spec = (extra = '') => `envlock-launch-spec 1\n${line()}\nlease ${leases} ${NAME}\nenv PATH=/bin\ncwd /\nbind-cwd no\n${extra}`;
  beforeAll(() => {
    leases = path.join(store, `leases-${name}-${form}`);
  });

  it.skipIf(skip)('is held while the command runs, refreshed, and removed at its end', async () => {
    rmSync(leases, { recursive: true, force: true });
    let pid = 0;
    const env = { ...COLD, ENVLOCK_LEASE_REFRESH_SECONDS: '1' };
    const pending = runWithSpecFd(spec(), ['sleep', '3'], { prefix, env, onSpawn: (p) => (pid = p) });
    expect(await waitUntil(() => leasesIn(leases).length === 1)).toBe(true);
    // The launcher itself (the supervisor) holds it: named after its pid and start time.
    const [lease] = leasesIn(leases);
    expect(lease).toBe(`${NAME}.${os.hostname()}.${pid}.${startTime(pid)}`);
    const first = statSync(path.join(leases, lease!)).mtimeMs;
    expect(await waitUntil(() => existsSync(path.join(leases, lease!)) && statSync(path.join(leases, lease!)).mtimeMs > first, 2500)).toBe(true);
    const result = await pending;
    expect(result.status).toBe(0);
    expect(leasesIn(leases)).toEqual([]);
  });

  it.skipIf(skip)('is removed when the command is killed or the launcher is terminated', async () => {
    rmSync(leases, { recursive: true, force: true });
    const killed = await runWithSpecFd(spec(), ['sh', '-c', 'kill -KILL $$'], { prefix, env: COLD });
    expect(killed.signal).toBe('SIGKILL');
    expect(leasesIn(leases)).toEqual([]);
    let pid = 0;
    const pending = runWithSpecFd(spec(), ['sleep', '30'], { prefix, env: COLD, onSpawn: (p) => (pid = p) });
    expect(await waitUntil(() => leasesIn(leases).length === 1)).toBe(true);
    process.kill(pid, 'SIGTERM');
    const terminated = await pending;
    expect(terminated.signal).toBe('SIGTERM');
    expect(leasesIn(leases)).toEqual([]);
  });

  it.skipIf(skip)('names an image removed after the run was prepared, and leaves no lease', async () => {
    rmSync(leases, { recursive: true, force: true });
    const gone = form === 'tree' ? path.join(store, 'rootfs-gone') : path.join(store, 'gone.sqfs');
    const text = `envlock-launch-spec 1\n${form === 'tree' ? 'rootfs' : 'squashfs'} ${gone}\nlease ${leases} ${NAME}\nenv PATH=/bin\n`;
    const result = await runWithSpecFd(text, ['true'], { prefix });
    expect(result.stderr).toBe(`envlock-launch: image missing: ${gone} does not exist (was it removed by \`envlock gc\` or by hand?); run \`envlock pull\` and try again\n`);
    expect(result.status).toBe(125);
    expect(leasesIn(leases)).toEqual([]);
  });
});

describe('a lease directory the caller cannot write', () => {
  it('fails in one line naming the directory', async () => {
    const dir = path.join(publicTempDir('envlock-lease-ro-'), 'leases');
    mkdirSync(dir, { mode: 0o755 });
    const nobody = CALLERS.find((c) => c.name === 'nobody')!;
    const result = await runWithSpecFd(`envlock-launch-spec 1\nrootfs ${rootfs}\nlease ${dir} ${NAME}\nenv PATH=/bin\n`, ['true'], { prefix: nobody.prefix });
    expect(result.stderr).toMatch(new RegExp(`^envlock-launch: lease: cannot create ${dir}/${NAME}\\.[^ ]+: Permission denied \\(errno 13\\)\\n$`));
    expect(result.status).toBe(125);
    expect(spawnSync('ls', [dir]).stdout.toString()).toBe('');
    removeTree(path.dirname(dir));
  });

  it('runs the command without a lease when the lease is optional (a module tree shared by users)', async () => {
    const dir = path.join(publicTempDir('envlock-lease-ro-'), 'leases');
    mkdirSync(dir, { mode: 0o755 });
    const nobody = CALLERS.find((c) => c.name === 'nobody')!;
    const result = await runWithSpecFd(`envlock-launch-spec 1\nrootfs ${rootfs}\nlease ${dir} ${NAME} optional\nenv PATH=/bin\n`, ['echo', 'ran'], { prefix: nobody.prefix });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('ran\n');
    expect(result.status).toBe(0);
    expect(spawnSync('ls', [dir]).stdout.toString()).toBe('');
    removeTree(path.dirname(dir));
  });

  it('refuses an unknown lease option (125)', async () => {
    const result = await runWithSpecFd(`envlock-launch-spec 1\nrootfs ${rootfs}\nlease /tmp ${NAME} sometimes\nenv PATH=/bin\n`, ['true']);
    expect(result.stderr).toContain('unknown lease option: sometimes');
    expect(result.status).toBe(125);
  });
});
