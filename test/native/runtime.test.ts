// The addons (CPU features and execve; the user-namespace probe) and the TypeScript side of the
// runtime: spec rendering, error mapping, and the user-namespace explanation.

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeContext } from '../../core/context.js';
import { nativeHostCpu } from '../../core/runtime/cpu.js';
import { launch, launcherArguments, launchChild, launcherFailure } from '../../core/runtime/launch.js';
import { launcherPath } from '../../core/runtime/launcher-path.js';
import { loadExecAddon, loadNative, type NativeAddon, type RawUsernsProbe } from '../../core/runtime/native.js';
import { escapeField, renderSpec } from '../../core/runtime/spec.js';
import { assertUserNamespaces, explainUserns, probeUserNamespaces, readUsernsSysctls } from '../../core/runtime/userns.js';
import { ADDON, CALLERS, EXEC_ADDON, LAUNCHER, ensureNativeBuild, makeRootfs, removeTree } from './fixture.js';

beforeAll(() => ensureNativeBuild());

/** The x86-64 levels glibc's dynamic loader reports as supported ("x86-64-v3 (supported, …)"). */
function glibcLevels(): string[] | undefined {
  for (const loader of ['/lib64/ld-linux-x86-64.so.2', '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2']) {
    const run = spawnSync(loader, ['--help'], { encoding: 'utf8' });
    if (run.status !== 0 || !run.stdout.includes('glibc-hwcaps')) continue;
    return [...run.stdout.matchAll(/^\s+(x86-64-v[234]) \(supported/gm)].map((m) => m[1]!);
  }
  return undefined;
}

describe('cpuFeatures', () => {
  // glibc decides which hwcaps libraries it may load from CPUID and XGETBV, never from
  // /proc/cpuinfo (which hypervisors trim: AMD EPYC guests list no `abm` though CPUID has LZCNT).
  it('reaches exactly the x86-64 level glibc says this CPU supports', () => {
    const cpu = loadExecAddon().cpuFeatures();
    expect(cpu.architecture).toBe(process.arch === 'x64' ? 'amd64' : process.arch);
    if (cpu.architecture !== 'amd64') return;
    const levels = glibcLevels();
    expect(levels, 'ld.so --help lists glibc-hwcaps (glibc 2.33+)').toBeDefined();
    const best = ['x86-64-v4', 'x86-64-v3', 'x86-64-v2'].find((level) => levels!.includes(level)) ?? 'x86-64';
    expect(nativeHostCpu().level).toBe(best);
  });

  it('is the detection pull, run and doctor use', async () => {
    const { hostCpu } = await import('../../core/project.js');
    const cpu = await hostCpu();
    expect(cpu.level).toBe(nativeHostCpu().level);
    expect([...cpu.features].sort()).toEqual([...nativeHostCpu().features].sort());
  });
});

describe('execLauncher', () => {
  it('replaces the Node process, keeps its pid and stdio, and resets signals Node changed', () => {
    const script = `const a = require(${JSON.stringify(EXEC_ADDON)}); process.stdout.write(process.pid + '\\n');
      a.execLauncher('/bin/sh', ['sh', '-c', 'echo $$ $FOO; grep -E "^Sig(Ign|Blk)" /proc/self/status'], ['FOO=bar']);`;
    const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    const [pid, shell, blk, ign] = result.stdout.trim().split('\n');
    expect(shell).toBe(`${pid} bar`);
    expect(ign).toBe('SigIgn:\t0000000000000000');
    expect(blk).toBe('SigBlk:\t0000000000000000');
    expect(result.status).toBe(0);
  });

  it('throws an errno error when the file cannot be executed, and launch() turns it into LAUNCH_FAILED', () => {
    expect(() => loadExecAddon().execLauncher('/nonexistent/launcher', ['x'], [])).toThrow(expect.objectContaining({ code: 'ENOENT', errno: 2 }));
    const ctx = makeContext({ env: {} });
    let caught: unknown;
    try {
      launch({ rootfs: '/' }, ['true'], ctx, { launcher: '/nonexistent/launcher' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'LAUNCH_FAILED', exitCode: 125 });
    expect((caught as Error).message).toBe('The launcher /nonexistent/launcher could not be executed: execve /nonexistent/launcher: No such file or directory.');
  });
});

describe('sha256Hex', () => {
  // The prepared-run cache key is this digest: it must be SHA-256 exactly, at every padding edge.
  it('equals node:crypto for every length around the block and padding boundaries, across parts', () => {
    const { sha256Hex } = loadExecAddon();
    for (const length of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 1000, 70_000]) {
      const bytes = Buffer.alloc(length, 0);
      for (let i = 0; i < length; i++) bytes[i] = (i * 131 + length) & 0xff;
      const split = Math.floor(length / 3);
      const want = createHash('sha256').update(bytes).digest('hex');
      expect(sha256Hex([bytes])).toBe(want);
      expect(sha256Hex([bytes.subarray(0, split), new Uint8Array(0), new Uint8Array(bytes.subarray(split))])).toBe(want);
    }
    expect(() => sha256Hex(['text' as unknown as Uint8Array])).toThrow(TypeError);
  });
});

describe('runtime availability', () => {
  it('reports RUNTIME_UNAVAILABLE for a missing addon or launcher', () => {
    expect(() => loadNative('/nonexistent/envlock_native.node')).toThrow(expect.objectContaining({ code: 'RUNTIME_UNAVAILABLE', exitCode: 4 }));
    expect(() => launcherPath({ ENVLOCK_LAUNCHER: '/nonexistent/envlock-launch' })).toThrow('The launcher /nonexistent/envlock-launch does not exist, so envlock cannot enter environments.');
    expect(launcherPath({})).toBe(LAUNCHER);
  });
});

describe('spec rendering', () => {
  it('escapes separators and line breaks and refuses NUL', () => {
    expect(escapeField('a b\\c\nd\te\rf')).toBe('a\\sb\\\\c\\nd\\te\\rf');
    expect(() => escapeField('a\0b')).toThrow(expect.objectContaining({ code: 'LAUNCH_FAILED' }));
  });

  it('renders every option in a fixed order', () => {
    const text = renderSpec({
      rootfs: '/store/rootfs/abc', env: [['PATH', '/bin'], ['X', 'a b']], envPass: ['TERM'], cwd: '/work', bindCwd: false, home: '/home/u',
      hostname: 'box', user: 'u', group: 'g', fakeRoot: true, privateTmp: false, pidNamespace: false, hostFiles: false, overlay: 'always',
      binds: [{ source: '/data', destination: '/mnt/data', readOnly: false, optional: true }], devices: [{ source: '/dev/nvidia0' }], mkdirs: ['/scratch'], command: ['sh', '-l'],
    });
    expect(text).toBe([
      'envlock-launch-spec 1', 'rootfs /store/rootfs/abc', 'env PATH=/bin', 'env X=a\\sb', 'env-pass TERM', 'cwd /work', 'bind-cwd no', 'home /home/u',
      'hostname box', 'user u', 'group g', 'fake-root yes', 'tmp host', 'pid host', 'host-files no', 'overlay always', 'bind /data /mnt/data rw,optional',
      'dev /dev/nvidia0 /dev/nvidia0', 'mkdir /scratch', 'cmd sh', 'cmd -l', '',
    ].join('\n'));
  });

  it('refuses relative or un-normalised bind paths with BIND_INVALID', () => {
    expect(() => renderSpec({ rootfs: '/r', binds: [{ source: '/data', destination: 'mnt', readOnly: true }] })).toThrow(expect.objectContaining({ code: 'BIND_INVALID', exitCode: 125 }));
    expect(() => renderSpec({ rootfs: '/r', binds: [{ source: '/data', destination: '/a/../etc', readOnly: true }] })).toThrow('The bind destination path "/a/../etc" is not a normalised absolute path.');
  });

  it('is accepted by the launcher, whose spec errors name the line', async () => {
    const rootfs = makeRootfs();
    const ctx = makeContext({ cwd: '/', env: { PATH: '/usr/bin:/bin' } });
    const ok = await launchChild({ rootfs, env: [['PATH', '/bin'], ['A', 'x y']], command: ['sh', '-c', 'echo "$A"'] }, [], ctx, { launcher: LAUNCHER });
    expect(ok.stdout).toBe('x y\n');
    const bad = spawnSync(LAUNCHER, ['--spec-text', `rootfs ${rootfs}\nbogus 1\n`, '--', 'true'], { encoding: 'utf8' });
    expect(bad.status).toBe(125);
    expect(bad.stderr).toBe('envlock-launch: spec --spec-text line 2: unknown keyword: bogus\n');
    removeTree(rootfs);
  });

  it('splits each line at single spaces, undoes every escape, and names a line with too many fields or a bad escape', () => {
    const rootfs = makeRootfs();
    const launch = (lines: string) => spawnSync(LAUNCHER, ['--spec-text', `rootfs ${rootfs}\n${lines}\n`, '--', 'sh', '-c', 'printf "[%s]" "$A"'], { encoding: 'utf8' });
    const read = launch('# a comment with \\q and a b c d e f\n\nenv A=1\\s\\\\2\\t3\\n4\\r5\\s\\s6\nenv PATH=/bin');
    expect(read.stderr).toBe('');
    expect(read.stdout).toBe('[1 \\2\t3\n4\r5  6]');
    const failure = (lines: string) => launch(lines).stderr;
    expect(failure('bind /a /b ro extra')).toBe('envlock-launch: spec --spec-text line 2: wrong number of fields for: bind\n');
    expect(failure('bind /a /b ro extra more')).toBe('envlock-launch: spec --spec-text line 2: too many fields\n');
    expect(failure('env A=x\nenv B=a\\qb')).toBe('envlock-launch: spec --spec-text line 3: unknown escape in field: B=a\\qb\n');
    expect(failure('env A= x')).toBe('envlock-launch: spec --spec-text line 2: wrong number of fields for: env\n');
    removeTree(rootfs);
  });

  it('never puts the spec in the launcher argv, only the descriptor it travels on', () => {
    expect(launcherArguments('/l', ['a'], { debug: true, specFd: 3 })).toEqual(['/l', '--debug', '--spec-fd', '3', '--', 'a']);
  });
});

describe('user namespaces', () => {
  it('probes successfully on this host', () => {
    expect(probeUserNamespaces()).toEqual({ ok: true });
    expect(() => assertUserNamespaces()).not.toThrow();
  });

  it.each(CALLERS)('explains a disabled limit to $name through the launcher and the probe', async (caller) => {
    const rootfs = makeRootfs();
    const disable = [...caller.prefix, 'unshare', '-U', '--map-root-user', 'sh', '-c', 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"', 'sh'];
    const ctx = makeContext({ cwd: '/', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    const result = await launchChild({ rootfs }, ['true'], ctx, { launcher: LAUNCHER, prefix: disable });
    expect(result.status).toBe(4);
    expect(result.stderr).toBe('envlock-launch: user namespace: unshare: No space left on device (errno 28); the limit in /proc/sys/user/max_user_namespaces is 0 or reached: an administrator must raise it (sysctl -w user.max_user_namespaces=15000)\n');
    const mapped = launcherFailure(result);
    expect(mapped?.code).toBe('USERNS_UNAVAILABLE');
    expect(mapped?.exitCode).toBe(4);

    const probeScript = `const a = require(${JSON.stringify(ADDON)}); const fs = require('fs');
      console.log(JSON.stringify({ raw: a.probeUserNamespaces(), max: fs.readFileSync('/proc/sys/user/max_user_namespaces', 'utf8') }));`;
    const out = execFileSync(disable[0]!, [...disable.slice(1), process.execPath, '-e', probeScript], { encoding: 'utf8' });
    const { raw, max } = JSON.parse(out) as { raw: RawUsernsProbe; max: string };
    expect(raw).toEqual({ ok: false, stage: 'unshare', errno: 28, message: 'No space left on device' });
    const explained = explainUserns(raw, readUsernsSysctls(() => max));
    expect(explained.reason).toBe('user namespaces are disabled: user.max_user_namespaces is 0 (unshare failed: No space left on device)');
    expect(explained.fix).toContain('sysctl -w user.max_user_namespaces=15000');
    expect(explained.fix).toContain('An administrator must apply it');
    removeTree(rootfs);
  });

  it('raises USERNS_UNAVAILABLE with the reason and the fix', () => {
    const fake = { probeUserNamespaces: () => ({ ok: false, stage: 'unshare', errno: 1, message: 'Operation not permitted' }) } as unknown as NativeAddon;
    let caught: unknown;
    try {
      assertUserNamespaces(fake, { unprivilegedUsernsClone: 0, maxUserNamespaces: 100 });
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'USERNS_UNAVAILABLE', exitCode: 4, hint: 'Run `sysctl -w kernel.unprivileged_userns_clone=1` as root. An administrator must apply it (persist it in /etc/sysctl.d/).' });
    expect((caught as Error).message).toBe('This host does not let envlock create a user namespace: unprivileged user namespaces are disabled: kernel.unprivileged_userns_clone is 0 (unshare failed: Operation not permitted).');
  });

  it('names AppArmor when the maps cannot be written under its restriction', () => {
    const explained = explainUserns({ ok: false, stage: 'uid_map', errno: 1, message: 'Operation not permitted' }, { apparmorRestrict: 1 });
    expect(explained.reason).toContain('kernel.apparmor_restrict_unprivileged_userns is 1');
    expect(explained.fix).toContain('userns,');
  });
});
