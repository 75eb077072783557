// envlock-launch end to end, as root and as an unprivileged user, from a tree and from a
// squashfs image (the same behaviour is promised for both): what the command sees inside,
// what it cannot change, and how statuses, signals and failures come back.

import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it as itBase } from 'vitest';
import { makeContext } from '../../core/context.js';
import { launchChild, launcherFailure, type ChildOptions } from '../../core/runtime/launch.js';
import type { LaunchSpec } from '../../core/runtime/spec.js';
import { renderSpec } from '../../core/runtime/spec.js';
import { CALLERS, LAUNCHER, asSquashfsSpec, processesWith, ensureNativeBuild, launcherFeatures, listTree, makeRootfs, makeSquashfs, openFuseToUsers, publicTempDir, removeTree, runWithSpecFd } from './fixture.js';
import { skipWithout } from '../helpers/features.js';

let rootfs: string;
let image: string;
let work: string;
let before: string[];
let imageBytes: Buffer;

beforeAll(() => {
  ensureNativeBuild();
  openFuseToUsers();
  rootfs = makeRootfs();
  before = listTree(rootfs);
  image = makeSquashfs(rootfs);
  imageBytes = readFileSync(image);
  work = publicTempDir('envlock-work-');
  chmodSync(work, 0o777); // nobody's commands leave ready markers there
});

afterAll(() => {
  removeTree(rootfs);
  removeTree(path.dirname(image));
  removeTree(work);
});

const HOST_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', TERM_X: 'vt-test' };
const ctx = () => makeContext({ cwd: work, env: HOST_ENV });
const baseSpec = (extra: Partial<LaunchSpec> = {}): LaunchSpec => ({ rootfs, env: [['PATH', '/bin']], ...extra });
const SQUASHFS = launcherFeatures().includes('squashfs');

/** A tree through the TypeScript launchChild path; a squashfs image through --spec-fd. */
const FORMS = [
  { form: 'tree', skip: false, start: (spec: LaunchSpec, argv: string[], options: ChildOptions) => launchChild(spec, argv, ctx(), { launcher: LAUNCHER, ...options }) },
  {
    form: 'squashfs',
    skip: skipWithout('squashfs', SQUASHFS),
    start: (spec: LaunchSpec, argv: string[], options: ChildOptions) =>
      runWithSpecFd(asSquashfsSpec(renderSpec(spec), image), argv, { prefix: options.prefix, cwd: work, env: HOST_ENV, onSpawn: options.onSpawn, args: options.debug ? ['--debug'] : [] }),
  },
];

/** The stored image is unchanged: the tree's listing, or the squashfs file's bytes. */
function expectImageUnchanged(form: string): void {
  if (form === 'tree') expect(listTree(rootfs)).toEqual(before);
  else expect(readFileSync(image).equals(imageBytes)).toBe(true);
}

describe.each(CALLERS.flatMap((caller) => FORMS.map((f) => ({ ...caller, ...f }))))('envlock-launch from a $form as $name', ({ skip, start, form, ...caller }) => {
  const run = (argv: string[], extra: Partial<LaunchSpec> = {}, options: ChildOptions = {}) =>
    start(baseSpec(extra), argv, { prefix: caller.prefix, ...options });
  const it = skip ? itBase.skip : itBase;
  /** A file in the bound working directory the command creates once its trap is set. */
  const readyFile = (what: string) => {
    const file = path.join(work, `ready-${what}-${caller.name}-${form}`);
    rmSync(file, { force: true });
    return file;
  };

  it('shows the image, keeps the caller uid and passes the exit status through', async () => {
    const result = await run(['sh', '-c', 'cat /etc/os-release; id -u; whoami; exit 7']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`NAME="envlock-test"\nID=envlocktest\n${caller.uid}\n${caller.name}\n`);
    expect(result.status).toBe(7);
  });

  it('keeps the image read-only and unchanged', async () => {
    const result = await run(['sh', '-c', 'touch /bin/new 2>&1; mkdir /x 2>&1; echo end']);
    expect(result.stdout).toMatch(/Read-only file system[\s\S]*Read-only file system[\s\S]*end/);
    expectImageUnchanged(form);
  });

  it('binds onto a destination the image lacks without touching the stored image', async () => {
    const data = publicTempDir('envlock-data-');
    chmodSync(data, 0o777);
    writeFileSync(path.join(data, 'hello'), 'from host\n', { mode: 0o644 });
    const result = await run(['sh', '-c', 'cat /data/in/hello && echo written > /data/in/out'], {
      binds: [{ source: data, destination: '/data/in', readOnly: false }],
    });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('from host\n');
    expect(result.status).toBe(0);
    expect(existsSync(path.join(data, 'out'))).toBe(true);
    expect(existsSync(path.join(rootfs, 'data'))).toBe(false);
    expectImageUnchanged(form);
    removeTree(data);
  });

  it('refuses writes to a read-only bind', async () => {
    const data = publicTempDir('envlock-ro-');
    chmodSync(data, 0o777);
    const result = await run(['sh', '-c', 'echo x > /ro/file'], { binds: [{ source: data, destination: '/ro', readOnly: true }] });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/Read-only file system/);
    expect(existsSync(path.join(data, 'file'))).toBe(false);
    removeTree(data);
  });

  it('fails with 125 naming a missing bind source', async () => {
    const missing = path.join(work, 'no-such-dir');
    const result = await run(['true'], { binds: [{ source: missing, destination: '/data', readOnly: true }] });
    expect(result.status).toBe(125);
    // ch-run style: the step and object, strerror, errno, the failed call and file:line.
    expect(result.stderr).toMatch(new RegExp(`^envlock-launch: bind source ${missing}: No such file or directory \\(errno 2; stat at [a-z-]+\\.c:\\d+\\)\\n$`));
    const error = launcherFailure(result);
    expect(error?.code).toBe('BIND_INVALID');
    expect(error?.exitCode).toBe(125);
    expect(error?.message).toContain(missing);
  });

  it('skips an optional bind whose source is missing', async () => {
    const result = await run(['true'], { binds: [{ source: path.join(work, 'absent'), destination: '/opt/x', readOnly: true, optional: true }] });
    expect(result.status).toBe(0);
  });

  it('exits 127 when the command is not in the image', async () => {
    const result = await run(['no-such-command']);
    expect(result.status).toBe(127);
    expect(result.stderr).toBe('envlock-launch: command not found inside the environment: no-such-command\n');
    const error = launcherFailure(result);
    expect(error?.code).toBe('COMMAND_NOT_FOUND');
    expect(error?.message).toBe('The command no-such-command was not found inside the environment.');
    expect(error?.exitCode).toBe(127);
  });

  it('exits 126 when the command is not executable', async () => {
    const dir = publicTempDir('envlock-noexec-');
    writeFileSync(path.join(dir, 'script'), '#!/bin/sh\necho hi\n', { mode: 0o644 });
    const result = await run(['/d/script'], { binds: [{ source: dir, destination: '/d', readOnly: true }] });
    expect(result.status).toBe(126);
    expect(result.stderr).toMatch(/^envlock-launch: cannot execute \/d\/script: Permission denied \(errno 13\)\n$/);
    expect(launcherFailure(result)?.code).toBe('COMMAND_NOT_EXECUTABLE');
    removeTree(dir);
  });

  it('forwards SIGTERM sent to the launcher to the command', async () => {
    let pid = 0;
    const ready = readyFile('term');
    const pending = run(['sh', '-c', `trap "echo got-term; exit 3" TERM; echo ready; touch ${ready}; while true; do sleep 0.1; done`], {}, { onSpawn: (p) => (pid = p) });
    await waitFor(() => pid !== 0 && existsSync(ready));
    process.kill(pid, 'SIGTERM');
    const result = await pending;
    expect(result.stdout).toBe('ready\ngot-term\n');
    expect(result.status).toBe(3);
  });

  it('dies of SIGKILL when the command is killed by SIGKILL', async () => {
    const result = await run(['sh', '-c', 'kill -KILL $$']);
    expect(result.signal).toBe('SIGKILL');
  });

  it('keeps running when the command ignores SIGTERM', async () => {
    let pid = 0;
    const ready = readyFile('ignore');
    const pending = run(['sh', '-c', `trap "" TERM; touch ${ready}; sleep 1; echo survived`], {}, { onSpawn: (p) => (pid = p) });
    await waitFor(() => pid !== 0 && existsSync(ready));
    process.kill(pid, 'SIGTERM');
    const result = await pending;
    expect(result.stdout).toBe('survived\n');
    expect(result.status).toBe(0);
  });

  it('sets no_new_privs, runs under its own init and provides /dev, /proc and a private /tmp', async () => {
    const marker = `envlock-marker-${process.pid}-${caller.name}`;
    const script = [
      'grep NoNewPrivs /proc/self/status',
      'tr "\\0" " " < /proc/1/cmdline | head -c 40; echo',
      'echo x > /dev/null && echo devnull-ok',
      'head -c 4 /dev/zero | tr "\\0" z; echo',
      `echo m > /tmp/${marker} && echo tmp-ok`,
    ].join('; ');
    const result = await run(['sh', '-c', script]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`NoNewPrivs:\t1\n${LAUNCHER.slice(0, 40)}\ndevnull-ok\nzzzz\ntmp-ok\n`);
    expect(existsSync(`/tmp/${marker}`)).toBe(false);
  });

  it('starts in the caller working directory, bound from the host', async () => {
    writeFileSync(path.join(work, `seen-${caller.name}`), 'here\n', { mode: 0o644 });
    const result = await run(['sh', '-c', `pwd; cat seen-${caller.name}`]);
    expect(result.stdout).toBe(`${work}\nhere\n`);
  });

  it('maps the caller to root with fakeRoot and sets a host name in its own UTS namespace', async () => {
    const result = await run(['sh', '-c', 'id -u; whoami; cat /proc/sys/kernel/hostname; touch /tmp/f && stat -c %u /tmp/f'], { fakeRoot: true, hostname: 'envlock-box' });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('0\nroot\nenvlock-box\n0\n');
  });

  it('reaps orphaned children inside and passes chosen variables from its own environment', async () => {
    const script = 'sh -c "sleep 0.1 & exit 0"; sleep 0.5; ps -o stat,comm | grep -c "^Z" ; echo "$TERM_X"';
    const result = await run(['sh', '-c', script], { envPass: ['TERM_X'] }, {});
    expect(result.stdout).toBe('0\nvt-test\n');
  });

  it('takes the command down when the launcher is killed', async () => {
    const tag = `envlock-orphan-${process.pid}-${caller.name}-${form}`;
    const ready = readyFile('orphan');
    let pid = 0;
    const pending = run(['sh', '-c', `touch ${ready}; sleep 30; : ${tag}`], {}, { onSpawn: (p) => (pid = p) });
    await waitFor(() => pid !== 0 && existsSync(ready));
    process.kill(pid, 'SIGKILL');
    await pending;
    // A warm holder (squashfs) outlives a run by design until it is idle; nothing else may.
    const left = () => processesWith(tag).filter((p) => p.comm !== 'envlock-holder');
    await waitFor(() => left().length === 0);
    expect(left()).toEqual([]);
  });

  it('binds host device nodes into its /dev', async () => {
    const result = await run(['sh', '-c', 'echo x > /dev/sink && head -c 3 /dev/source | tr "\\0" o'], {
      devices: [{ source: '/dev/null', destination: '/dev/sink' }, { source: '/dev/zero', destination: '/dev/source' }],
    });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('ooo');
  });

  it('passes exit statuses through without a PID namespace too', async () => {
    const result = await run(['sh', '-c', 'cat /proc/1/cmdline > /dev/null; exit 9'], { pidNamespace: false });
    expect(result.status).toBe(9);
  });
});

describe.each(FORMS)('envlock-launch mount points in a $form', ({ form, skip }) => {
  const it = skip ? itBase.skip : itBase;
  /** Runs from `dir` as a tree, or from a squashfs image made of it. */
  const startFrom = (dir: string, spec: Omit<LaunchSpec, 'rootfs'>, argv: string[], debug = false) => {
    const full: LaunchSpec = { rootfs: dir, ...spec };
    if (form === 'tree') return launchChild(full, argv, ctx(), { launcher: LAUNCHER, debug });
    const sqfs = makeSquashfs(dir);
    return runWithSpecFd(asSquashfsSpec(renderSpec(full), sqfs), argv, { env: HOST_ENV, cwd: work, args: debug ? ['--debug'] : [] }).finally(() => removeTree(path.dirname(sqfs)));
  };

  it('uses no overlay when the image has every mount point', async () => {
    const full = makeRootfs({ full: true });
    const result = await startFrom(full, { env: [['PATH', '/bin']], bindCwd: false, cwd: '/' }, ['sh', '-c', 'grep " / ro," /proc/self/mountinfo; tail -1 /etc/passwd'], true);
    expect(result.stderr).toContain('envlock-launch: debug: overlay: no');
    expect(result.stdout).not.toContain('overlay');
    expect(result.stdout).toMatch(/ \/ ro,/);
    expect(result.stdout).toContain('root:x:0:0:root:/root:/bin/sh');
    removeTree(full);
  });

  it('resolves a symlinked destination inside the image, never on the host', async () => {
    const hostile = makeRootfs();
    const target = publicTempDir('envlock-target-');
    const data = publicTempDir('envlock-src-');
    symlinkSync(target, path.join(hostile, 'mnt'));
    const bound = await startFrom(hostile, { env: [['PATH', '/bin']], bindCwd: false, cwd: '/', binds: [{ source: data, destination: '/mnt/x', readOnly: true }] }, ['sh', '-c', 'ls -d /mnt/x']);
    expect(bound.stderr).toBe('');
    expect(bound.stdout).toBe('/mnt/x\n');
    expect(readdirSync(target)).toEqual([]);
    for (const dir of [hostile, target, data]) removeTree(dir);
  });

  it('handles paths with spaces and newlines in binds and arguments', async () => {
    const odd = publicTempDir('envlock odd ');
    writeFileSync(path.join(odd, 'f'), 'odd\n', { mode: 0o644 });
    mkdirSync(path.join(odd, 'sub dir'), { mode: 0o755 });
    const direct = await startFrom(rootfs, { env: [['PATH', '/bin'], ['MULTI', 'a b\nc\\d']], binds: [{ source: odd, destination: '/mnt/a b', readOnly: true }] }, ['sh', '-c', 'cat "/mnt/a b/f"; echo "$MULTI"; echo "$1"', 'sh', 'x\ny z']);
    expect(direct.stderr).toBe('');
    expect(direct.stdout).toBe('odd\na b\nc\\d\nx\ny z\n');
    removeTree(odd);
  });
});

async function waitFor(test: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !test(); i++) await new Promise((r) => setTimeout(r, 10));
}
