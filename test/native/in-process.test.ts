// The entry library linked into another program and entered in-process, the way the Slurm
// SPANK plugin enters a task: no PID namespace, no fork for the command, the caller's own
// process ends up inside; and a failure hands control back to the caller with the launcher's
// message and status, instead of exiting behind its back.

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLERS, buildInProcessCaller, ensureNativeBuild, launcherFeatures, makeRootfs, makeSquashfs, openFuseToUsers, publicTempDir, removeTree } from './fixture.js';
import { skipWithout } from '../helpers/features.js';

let rootfs: string;
let image: string;
let caller: string;
let work: string;

beforeAll(() => {
  ensureNativeBuild();
  openFuseToUsers();
  rootfs = makeRootfs();
  image = makeSquashfs(rootfs);
  caller = buildInProcessCaller();
  work = publicTempDir('envlock-inproc-');
});

afterAll(() => {
  for (const dir of [rootfs, path.dirname(image), path.dirname(caller), work]) removeTree(dir);
});

/** The per-task server is under test here; warm starts have their own test (warm.test.ts). */
const COLD = { ...process.env, ENVLOCK_WARM: '0' };

const FORMS = [
  { form: 'tree', line: () => `rootfs ${rootfs}` },
  { form: 'squashfs', line: () => `squashfs ${image}` },
];

function writeSpec(name: string, lines: string[]): string {
  const file = path.join(work, name);
  writeFileSync(file, `envlock-launch-spec 1\n${lines.join('\n')}\nenv PATH=/bin\nbind-cwd no\ncwd /\n`, { mode: 0o644 });
  return file;
}

describe.each(CALLERS.flatMap((c) => FORMS.map((f) => ({ ...c, ...f }))))('in-process entry of a $form as $name', ({ name, prefix, uid, form, line }) => {
  it.skipIf(form === 'squashfs' && skipWithout('squashfs', launcherFeatures().includes('squashfs')))('leaves the calling process inside the image, which then execs the command', () => {
    const spec = writeSpec(`ok-${name}-${form}`, [line()]);
    const result = spawnSync(prefix[0] ?? caller, [...prefix.slice(1), ...(prefix.length ? [caller] : []), spec, 'sh', '-c', 'echo "pid $$"; cat /etc/os-release; id -u; ls /oldroot 2>&1 | head -1'], { encoding: 'utf8', env: COLD });
    expect(result.stderr).toBe('');
    const [callerPid, commandPid, ...rest] = result.stdout.trim().split('\n');
    // The same process: entered in place, then exec'd (the command's $$ is the caller's pid).
    expect(commandPid).toBe(callerPid!.replace('caller pid', 'pid'));
    expect(rest).toEqual(['NAME="envlock-test"', 'ID=envlocktest', String(uid), 'ls: /oldroot: No such file or directory']);
    expect(result.status).toBe(0);
  });

  it.skipIf(form === 'squashfs' && skipWithout('squashfs', launcherFeatures().includes('squashfs')))('returns a failure to the caller with the launcher message and status', () => {
    const missing = path.join(work, 'no-such-source');
    const spec = writeSpec(`bad-${name}-${form}`, [line(), `bind ${missing} /data`]);
    const result = spawnSync(prefix[0] ?? caller, [...prefix.slice(1), ...(prefix.length ? [caller] : []), spec, 'true'], { encoding: 'utf8', env: COLD });
    expect(result.stdout).toMatch(new RegExp(`caller kept control: status 125: bind source ${missing}: No such file or directory \\(errno 2; stat at mount-points\\.c:\\d+\\)\\n$`));
    expect(result.status).toBe(91);
  });
});

describe('in-process entry of a squashfs image', () => {
  it.skipIf(skipWithout('squashfs', launcherFeatures().includes('squashfs')))('leaves no server process behind once the command has ended', () => {
    const spec = writeSpec('server', [`squashfs ${image}`]);
    for (const { prefix } of CALLERS) {
      const result = spawnSync(prefix[0] ?? caller, [...prefix.slice(1), ...(prefix.length ? [caller] : []), spec, 'sh', '-c', 'cat /etc/os-release >/dev/null; echo done'], { encoding: 'utf8', env: COLD });
      expect(result.stdout).toMatch(/done\n$/);
      // The server is a fork of the caller (same executable): none may survive it.
      spawnSync('sleep', ['0.2']);
      expect(spawnSync('pgrep', ['-f', caller], { encoding: 'utf8' }).stdout).toBe('');
    }
  });
});
