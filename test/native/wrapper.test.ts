// Module wrappers run by the kernel with the real launcher as their interpreter, as root and as
// nobody: arguments and statuses pass exactly whether the wrapper is started by path, through
// PATH from bash, sh and zsh, or read by sh; and a wrapper that must not run (stale, lost or
// foreign specs, files others may write, no usable $HOME) exits 125 saying why, before anything
// is entered.

import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wrapperScript, type WrapperInput } from '../../core/modules/wrapper-script.js';
import { CALLERS, LAUNCHER, ensureNativeBuild, makeRootfs, publicTempDir, removeTree } from './fixture.js';

let rootfs: string;
let work: string;
let count = 0;

beforeAll(() => {
  ensureNativeBuild();
  rootfs = makeRootfs();
  work = publicTempDir('envlock-wrapper-');
  // What a module's spec holds that matters here: the image, no PID namespace, HOME passed.
  spec = `envlock-launch-spec 1\nrootfs ${rootfs}\nenv PATH=/bin\nenv-pass HOME\npid host\nbind-cwd no\n`;
});

afterAll(() => {
  removeTree(rootfs);
  removeTree(work);
});

const NOBODY = CALLERS[1]!.uid;
let spec: string;

interface Module {
  dir: string;
  wrapper: string;
  specFile: string;
  lock: string;
}

/** A prepared module as prepareModuleRuntime lays it out (spec, one candidate, bin/NAME running `sh`), its lock beside it. */
function module(options: { name?: string; launcher?: string; homeLines?: string[] } = {}): Module {
  const dir = path.join(work, `m${++count}`);
  mkdirSync(path.join(dir, 'bin'), { recursive: true, mode: 0o755 });
  const lock = path.join(dir, 'envlock.lock');
  writeFileSync(lock, 'lock\n');
  const past = new Date(Date.now() - 60_000);
  utimesSync(lock, past, past);
  const specFile = path.join(dir, 'spec');
  const candidate = path.join(dir, 'spec.1-linux-amd64');
  for (const f of [specFile, candidate]) writeFileSync(f, spec, { mode: 0o644 });
  const input: WrapperInput = { command: 'sh', label: 'tool/1.0', launcherPath: options.launcher ?? LAUNCHER, specFile, candidates: [candidate], sources: [lock], homeLines: options.homeLines };
  const wrapper = path.join(dir, 'bin', options.name ?? 'sh');
  writeFileSync(wrapper, wrapperScript(input), { mode: 0o755 });
  return { dir, wrapper, specFile, lock };
}

function run(prefix: string[], argv: string[], env: NodeJS.ProcessEnv = { PATH: '/usr/bin:/bin', HOME: '/' }) {
  const all = [...prefix, ...argv];
  return spawnSync(all[0]!, all.slice(1), { cwd: '/', env, encoding: 'utf8' });
}

const ARGS = ['-c', 'for a in "$@"; do echo "[$a]"; done; exit 7', 'x', 'a b', '', '$(y)', '*'];
const PRINTED = '[a b]\n[]\n[$(y)]\n[*]\n';

describe.each(CALLERS)('module wrapper as $name', ({ name, prefix }) => {
  it('is started by the kernel with the launcher as interpreter and passes arguments and the status exactly', () => {
    const m = module();
    const r = run(prefix, [m.wrapper, ...ARGS]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(PRINTED);
    expect(r.status).toBe(7);
  });

  it.each(['bash', 'sh', 'zsh'])('runs through PATH from %s', (shell) => {
    const m = module({ name: 'tool' });
    const r = run(prefix, [shell, '-c', `tool -c 'echo "in $0 [$1]"; exit 3' x 'a b'; echo "status $?"`], { PATH: `${path.dirname(m.wrapper)}:/usr/bin:/bin`, HOME: '/' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('in x [a b]\nstatus 3\n');
  });

  it('runs when read by sh, and through /bin/sh when the launcher path cannot stand in an interpreter line', () => {
    const long = path.join(work, `${'l'.repeat(100)}-${name}`);
    mkdirSync(long, { recursive: true, mode: 0o755 });
    rmSync(path.join(long, 'envlock-launch'), { force: true });
    symlinkSync(LAUNCHER, path.join(long, 'envlock-launch'));
    const viaShell = module({ launcher: path.join(long, 'envlock-launch') });
    for (const argv of [[viaShell.wrapper, ...ARGS], ['sh', module().wrapper, ...ARGS]]) {
      const r = run(prefix, argv);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(PRINTED);
      expect(r.status).toBe(7);
    }
  });

  it('refuses with 125 when the lock is newer than the spec, or the spec is gone', () => {
    const m = module();
    const future = new Date(Date.now() + 60_000);
    utimesSync(m.lock, future, future);
    const stale = run(prefix, [m.wrapper, '-c', 'echo ran']);
    expect(stale.stdout).toBe('');
    expect(stale.stderr).toBe('envlock: tool/1.0 changed since its wrappers were prepared; run `module load tool/1.0` again (or `envlock module publish`)\n');
    expect(stale.status).toBe(125);
    rmSync(m.specFile);
    const lost = run(prefix, [m.wrapper, '-c', 'echo ran']);
    expect(lost.stderr).toBe(`envlock: tool/1.0 has lost its prepared spec ${m.specFile} (No such file or directory); run \`module load tool/1.0\` again (or \`envlock module publish\`)\n`);
    expect(lost.status).toBe(125);
  });

  it('refuses with 125 a variant spec that is missing, owned by another user, or writable by its group', () => {
    const m = module();
    const candidate = path.join(m.dir, 'spec.1-linux-amd64');
    chownSync(candidate, NOBODY, NOBODY);
    const foreign = run(prefix, [m.wrapper, '-c', 'echo ran']);
    expect(foreign.stdout).toBe('');
    expect(foreign.stderr).toBe(`envlock-launch: spec ${candidate} is owned by uid ${NOBODY}, not by the wrapper's owner (uid 0) or root; refusing it\n`);
    expect(foreign.status).toBe(125);
    chownSync(candidate, 0, 0);
    chmodSync(candidate, 0o664);
    const group = run(prefix, [m.wrapper, '-c', 'echo ran']);
    expect(group.stderr).toBe(`envlock-launch: spec ${candidate} is writable by its group; refusing it (chmod g-w)\n`);
    expect(group.status).toBe(125);
    rmSync(candidate);
    const missing = run(prefix, [m.wrapper, '-c', 'echo ran']);
    expect(missing.stderr).toBe(`envlock-launch: spec ${candidate} does not exist\n`);
    expect(missing.status).toBe(125);
  });

  it('takes specs owned by root under a wrapper owned by someone else', () => {
    const m = module();
    chownSync(m.wrapper, NOBODY, NOBODY);
    const r = run(prefix, [m.wrapper, '-c', 'echo ran']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('ran\n');
  });

  it('refuses with 125 a wrapper others may write, and a file that is no wrapper', () => {
    const m = module();
    chmodSync(m.wrapper, 0o775);
    const open = run(prefix, [m.wrapper, '-c', 'echo ran']);
    expect(open.stderr).toBe(`envlock: the module wrapper ${m.wrapper} is writable by group or others; refusing it (chmod go-w)\n`);
    expect(open.status).toBe(125);
    writeFileSync(m.wrapper, `#!${LAUNCHER} --wrapper\necho hello\n`, { mode: 0o755 });
    chmodSync(m.wrapper, 0o755);
    const other = run(prefix, [m.wrapper]);
    expect(other.stderr).toBe(`envlock: ${m.wrapper} is not an envlock module wrapper (it has no \`envlock-wrapper 1\` line)\n`);
    expect(other.status).toBe(125);
  });

  it('binds the runner\'s home for ~ binds, and refuses with 125 without a usable $HOME', () => {
    const home = path.join(work, `home-${name}`);
    mkdirSync(path.join(home, 'data'), { recursive: true, mode: 0o755 });
    writeFileSync(path.join(home, 'data', 'note'), `note of ${name}\n`, { mode: 0o644 });
    chmodSync(home, 0o755);
    const m = module({ homeLines: ['bind ~/data /mnt/data ro'] });
    const r = run(prefix, [m.wrapper, '-c', 'cat /mnt/data/note; echo "home=$HOME"'], { PATH: '/usr/bin:/bin', HOME: home });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`note of ${name}\nhome=${home}\n`);
    for (const bad of ['/nonexistent', 'relative', '/with space']) {
      const refused = run(prefix, [m.wrapper, '-c', 'echo ran'], { PATH: '/usr/bin:/bin', HOME: bad });
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toBe('envlock: tool/1.0 binds directories of your home, so HOME must name an existing directory whose path has only letters, digits and ._/+@=,:-\n');
      expect(refused.status).toBe(125);
    }
  });
});
