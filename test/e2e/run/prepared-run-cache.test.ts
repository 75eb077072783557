// The prepared-run cache (issues 12.5 and 14.2 "Stale fast paths"), as root and as nobody: a
// repeated run takes it, in the entry's fast path without loading the full CLI (cli/fast/
// run-prepared.ts), and every change between two runs that the cached answer depends on, or a
// cache file that is torn, hostile or not the caller's, reaches the slow path (the full CLI,
// planning the run again) and the correct result. Which path ran is seen through a copy of the
// package whose full CLI leaves a mark (marking-cli.ts).

import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { NOBODY, REPO_ROOT, makeTempDir, removeTempDirs } from '../../helpers/cli.js';
import { markingCli } from './marking-cli.js';
import { CALLERS, pulledProject, run as runOnce, type Caller, type RunProject } from './run-helpers.js';

const registry = inject('registry');
afterAll(() => removeTempDirs());

const cli = markingCli();
type RunExtra = Parameters<typeof runOnce>[2];
/** One run through the marking copy; `full` says whether the full CLI had to run. */
async function run(project: RunProject, args: string[], extra: RunExtra = {}) {
  cli.reset();
  const result = await runOnce(project, args, { ...extra, entry: cli.entry, env: { ...cli.env, ...(extra?.env ?? {}) } });
  return Object.assign(result, { full: cli.fullCliRan() });
}

/** Runs until the cache holds this run, and checks that the next one is answered by the fast path. */
async function expectFastHit(project: RunProject, extra: RunExtra = {}): Promise<void> {
  await run(project, ['run', '--', 'true'], extra);
  const again = await run(project, ['run', '--', 'true'], extra);
  expect(again.code, again.stderr).toBe(0);
  expect(again.full).toBe(false);
}

const yaml = (extra = ''): string =>
  `version: 1\nenvironments:\n  bb:\n    image: ${registry}/busybox:latest\n    platforms: [linux/amd64]\n    env: { STAGE: one }\n${extra}`;

const cacheDir = (project: RunProject): string => join(project.env.ENVLOCK_STORE!, 'prepared');
/** The cache entries (not the temporary files of a writer). */
const entries = (project: RunProject): string[] => (existsSync(cacheDir(project)) ? readdirSync(cacheDir(project)).filter((n) => n.endsWith('.json') && !n.startsWith('.')) : []);
const onlyEntry = (project: RunProject): string => {
  const list = entries(project);
  expect(list).toHaveLength(1);
  return join(cacheDir(project), list[0]!);
};
const owner = (caller: Caller) => (caller.asUser ? NOBODY : { uid: 0, gid: 0 });

describe.each(CALLERS)('the prepared-run cache as $name', (caller) => {
  let project: RunProject;
  beforeAll(async () => {
    project = await pulledProject(caller, yaml());
  });

  it('is written by a run, private to its owner, and taken by the next run', async () => {
    rmSync(cacheDir(project), { recursive: true, force: true });
    expect((await run(project, ['run', '--', 'sh', '-c', 'echo $STAGE'])).stdout).toBe('one\n');
    const file = onlyEntry(project);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(cacheDir(project)).mode & 0o777).toBe(0o700);
    expect(statSync(file).uid).toBe(owner(caller).uid);
    const second = await run(project, ['run', '--', 'sh', '-c', 'echo $STAGE $ENVLOCK_ENV']);
    expect(second.stdout).toBe('one bb\n');
    expect(second.full).toBe(false);
    expect(entries(project)).toHaveLength(1);
  });

  it('is taken by the entry for every plain form of the command line, with what the full CLI would run', async () => {
    await expectFastHit(project);
    const shown = ['sh', '-c', 'env | sort; pwd; echo "$@"', 'sh', 'a b', '-x'];
    const forms = [['run', '--', ...shown], ['run', 'bb', '--', ...shown], ['run', 'bb', ...shown], ['--json', 'run', 'bb', ...shown], ['-q', 'run', '--offline', '--', ...shown]];
    for (const form of forms) {
      const fast = await run(project, form);
      const full = await run(project, form, { env: { ENVLOCK_NO_FAST_PATH: '1' } });
      expect(fast.full, form.join(' ')).toBe(false);
      expect(full.full).toBe(true);
      expect(fast.code).toBe(0);
      expect(fast.stdout).toBe(full.stdout);
      expect(fast.stdout).toContain(`\n${project.dir}\na b -x\n`);
    }
    // From elsewhere with -C: the command still runs in the project, as the full CLI runs it.
    const parent = join(project.dir, '..');
    const relative = ['-C', project.dir.split('/').pop()!, 'run', '--', 'pwd'];
    const fromParent = await run(project, relative, { cwd: parent });
    expect(fromParent).toMatchObject({ full: false, stdout: `${project.dir}\n`, code: 0 });
  });

  it('names the caller inside as this host names them, on the fast path and the full one', async () => {
    await expectFastHit(project);
    const name = caller.asUser ? 'nobody' : 'root';
    const fast = await run(project, ['run', '--', 'id', '-un']);
    const full = await run(project, ['run', '--', 'id', '-un'], { env: { ENVLOCK_NO_FAST_PATH: '1' } });
    expect([fast.full, fast.stdout, full.full, full.stdout]).toEqual([false, `${name}\n`, true, `${name}\n`]);
  });

  it('leaves to the full CLI what it does not take: run flags, an unknown name, a launcher that cannot start', async () => {
    await expectFastHit(project);
    const flagged = await run(project, ['run', '--env', 'STAGE=flag', '--', 'sh', '-c', 'echo $STAGE']);
    expect(flagged).toMatchObject({ full: true, stdout: 'flag\n', code: 0 });
    const unknown = await run(project, ['run', 'nosuch', '--', 'true']);
    expect(unknown.full).toBe(true);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('There is no environment `nosuch`');
    // The launcher exists but cannot be executed: the fast path gives up after trying, and the
    // full CLI (started where the user was, with a relative -C) reports it exactly as it would alone.
    const notExecutable = join(makeTempDir('launcher'), 'envlock-launch');
    writeFileSync(notExecutable, '#!/bin/sh\n', { mode: 0o644 });
    chmodSync(join(notExecutable, '..'), 0o755);
    const args = ['-C', project.dir.split('/').pop()!, 'run', '--', 'true'];
    const env = { ENVLOCK_LAUNCHER: notExecutable };
    const cwd = join(project.dir, '..');
    const tried = await run(project, args, { env, cwd });
    const alone = await run(project, args, { env: { ...env, ENVLOCK_NO_FAST_PATH: '1' }, cwd });
    expect(tried.full).toBe(true);
    expect(tried.code).toBe(125);
    expect(tried.stderr).toContain('could not be executed');
    expect([tried.code, tried.stderr]).toEqual([alone.code, alone.stderr]);
  });

  it('is not used after the declaration or the lock changed', async () => {
    const decl = join(project.dir, 'envlock.yaml');
    const lock = join(project.dir, 'envlock.lock');
    const [declBefore, lockBefore] = [readFileSync(decl, 'utf8'), readFileSync(lock, 'utf8')];
    try {
      await expectFastHit(project);
      writeFileSync(decl, declBefore.replace('STAGE: one', 'STAGE: two'));
      expect(await run(project, ['run', '--', 'sh', '-c', 'echo $STAGE'])).toMatchObject({ full: true, stdout: 'two\n' });
      writeFileSync(decl, declBefore);
      await expectFastHit(project);
      // A lock edited by hand (still fresh: features are not declared) is a new key: the CPU check runs again.
      writeFileSync(lock, lockBefore.replace(/features = \[/g, 'features = ["amx-imaginary", '));
      const refused = await run(project, ['run', '--json', '--', 'true']);
      expect(refused.full).toBe(true);
      expect(refused.code).toBe(4);
      expect(refused.json<{ error: { code: string } }>().error.code).toBe('CPU_UNSUPPORTED');
    } finally {
      writeFileSync(decl, declBefore);
      writeFileSync(lock, lockBefore);
    }
  });

  it('is not used when the CPU features seen change (ENVLOCK_CPU_MASK, as on a node without them)', async () => {
    // The locked amd64 variant needs the x86-64 baseline, sse2 among it: it runs, and is cached.
    expect(readFileSync(join(project.dir, 'envlock.lock'), 'utf8')).toContain('"sse2"');
    await expectFastHit(project);
    // Where sse2 is not seen, the same project must be refused before anything runs.
    const masked = await run(project, ['run', '--json', '--', 'echo', 'ran'], { env: { ENVLOCK_CPU_MASK: 'sse2' } });
    expect(masked.stdout).not.toContain('ran');
    expect(masked.full).toBe(true);
    expect(masked.code).toBe(4);
    expect(masked.json<{ error: { code: string; message: string } }>().error).toMatchObject({ code: 'CPU_UNSUPPORTED', message: expect.stringContaining('sse2') });
  });

  it('is not used with another HOME (a `~` bind then means the other home)', async () => {
    const forUser = caller.asUser ? { forUser: caller.asUser } : {};
    const homes = [makeTempDir('home1', forUser), makeTempDir('home2', forUser)];
    const tilde = await pulledProject(caller, yaml('    binds: [ "~/data:/data" ]\n'));
    for (const home of homes) {
      mkdirSync(join(home, 'data'));
      writeFileSync(join(home, 'data', 'mark'), `${home}\n`);
      if (caller.asUser) execFileSync('chown', ['-R', 'nobody:nogroup', home]);
    }
    for (const [home, full] of [[homes[0]!, true], [homes[0]!, false], [homes[1]!, true]] as const) {
      const result = await run(tilde, ['run', '--', 'sh', '-c', 'echo $HOME; cat /data/mark'], { env: { HOME: home } });
      expect(result.stdout).toBe(`${home}\n${home}\n`);
      expect(result.full).toBe(full);
    }
  });

  it('is not used after its image was removed: the run pulls it again, or says offline that it cannot', async () => {
    await expectFastHit(project);
    const rootfs = join(project.env.ENVLOCK_STORE!, 'rootfs', 'sha256');
    const removeImages = () => {
      for (const name of readdirSync(rootfs)) {
        const p = join(rootfs, name);
        if (statSync(p).isDirectory()) execFileSync('chmod', ['-R', 'u+w', p]);
        rmSync(p, { recursive: true, force: true });
      }
    };
    removeImages();
    const offline = await run(project, ['--offline', 'run', '--json', '--', 'true']);
    expect(offline.json<{ error: { code: string } }>().error.code).toBe('IMAGE_NOT_PULLED');
    expect(offline.full).toBe(true);
    const online = await run(project, ['run', '--', 'sh', '-c', 'echo $STAGE']);
    expect(online.stdout).toBe('one\n');
    expect(online.full).toBe(true);
    expect(online.code).toBe(0);
  });

  it('is not used after its image was damaged (its meta record torn): the run refuses it', async () => {
    await expectFastHit(project);
    const rootfs = join(project.env.ENVLOCK_STORE!, 'rootfs', 'sha256');
    const meta = join(rootfs, readdirSync(rootfs).find((n) => n.endsWith('.json'))!);
    const text = readFileSync(meta, 'utf8');
    try {
      writeFileSync(meta, text.slice(0, 20));
      const result = await run(project, ['run', '--json', '--', 'echo', 'ran']);
      expect(result.stdout).not.toContain('ran');
      expect(result.full).toBe(true);
      expect(result.json<{ error: { code: string; message: string } }>().error).toMatchObject({ code: 'STORE_DAMAGED', message: expect.stringContaining(meta.replace(/\.json$/, '')) });
    } finally {
      writeFileSync(meta, text);
    }
    expect((await run(project, ['run', '--', 'true'])).code).toBe(0);
  });

  it('ignores a truncated cache file and writes a good one again', async () => {
    rmSync(cacheDir(project), { recursive: true, force: true });
    await run(project, ['run', '--', 'true']);
    const file = onlyEntry(project);
    await expectFastHit(project);
    writeFileSync(file, readFileSync(file, 'utf8').slice(0, 40));
    expect(await run(project, ['run', '--', 'sh', '-c', 'echo $STAGE'])).toMatchObject({ full: true, stdout: 'one\n' });
    expect(() => JSON.parse(readFileSync(file, 'utf8'))).not.toThrow();
  });

  it('ignores a cache file that points outside the stores', async () => {
    rmSync(cacheDir(project), { recursive: true, force: true });
    await run(project, ['run', '--', 'true']);
    const file = onlyEntry(project);
    const entry = JSON.parse(readFileSync(file, 'utf8')) as { prepared: Record<string, { image: { path: string; store: string }; imageStat: string }> };
    // A look-alike image elsewhere, with a mark the real one lacks, and the cache rewritten to it.
    const elsewhere = makeTempDir('hostile', caller.asUser ? { forUser: caller.asUser } : {});
    const fake = join(elsewhere, 'rootfs', 'sha256', entry.prepared.bb!.image.path.split('/').pop()!);
    mkdirSync(join(elsewhere, 'rootfs', 'sha256'), { recursive: true });
    execFileSync('cp', ['-a', entry.prepared.bb!.image.path, fake]);
    cpSync(`${entry.prepared.bb!.image.path}.json`, `${fake}.json`);
    chmodSync(join(fake, 'etc'), 0o755);
    writeFileSync(join(fake, 'etc', 'planted'), 'planted\n');
    execFileSync('chown', ['-R', `${owner(caller).uid}:${owner(caller).gid}`, elsewhere]);
    entry.prepared.bb!.image = { ...entry.prepared.bb!.image, path: fake, store: elsewhere };
    writeFileSync(file, JSON.stringify(entry));
    const result = await run(project, ['run', '--', 'sh', '-c', 'cat /etc/planted 2>/dev/null || echo genuine']);
    expect(result).toMatchObject({ full: true, stdout: 'genuine\n' });
  });

  it('ignores a cache file written by another user', async () => {
    rmSync(cacheDir(project), { recursive: true, force: true });
    await run(project, ['run', '--', 'true']);
    const file = onlyEntry(project);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"STAGE":"one"', '"STAGE":"forged"'));
    const other = caller.asUser ? { uid: 0, gid: 0 } : NOBODY;
    chownSync(file, other.uid, other.gid);
    const result = await run(project, ['run', '--', 'sh', '-c', 'echo $STAGE']);
    expect(result).toMatchObject({ full: true, stdout: 'one\n' });
  });
});

describe.each(CALLERS)('a copied project as $name (issue 12.5)', (caller) => {
  it('writes through its relative binds into its own directory, never the original\'s', async () => {
    const a = await pulledProject(caller, yaml('    binds: [ "./out:/out" ]\n'));
    mkdirSync(join(a.dir, 'out'));
    if (caller.asUser) chownSync(join(a.dir, 'out'), NOBODY.uid, NOBODY.gid);
    expect((await run(a, ['run', '--', 'sh', '-c', 'echo a > /out/who'])).code).toBe(0);
    const bDir = `${a.dir}-copy`;
    cpSync(a.dir, bDir, { recursive: true });
    if (caller.asUser) execFileSync('chown', ['-R', 'nobody:nogroup', bDir]);
    const b: RunProject = { ...a, dir: bDir };
    expect((await run(b, ['run', '--', 'sh', '-c', 'echo b > /out/who'])).code).toBe(0);
    expect(readFileSync(join(a.dir, 'out', 'who'), 'utf8')).toBe('a\n');
    expect(readFileSync(join(bDir, 'out', 'who'), 'utf8')).toBe('b\n');
    rmSync(bDir, { recursive: true, force: true });
  });
});

describe.each(CALLERS)('a new envlock version as $name', (caller) => {
  it('does not take the cache an older version wrote', async () => {
    const project = await pulledProject(caller, yaml());
    await expectFastHit(project);
    expect(entries(project)).toHaveLength(1);
    // A copy of the built package whose version differs, as after an upgrade.
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const next = markingCli({ version: `${manifest.version}-next` });
    next.reset();
    const result = await runOnce(project, ['run', '--', 'sh', '-c', 'echo $STAGE'], { entry: next.entry, env: next.env });
    expect(result.stdout).toBe('one\n');
    expect(next.fullCliRan()).toBe(true);
    // The slow path ran and left an entry of the new version beside the old one.
    expect(entries(project)).toHaveLength(2);
  });
});

describe.each(CALLERS)('the code cache of the run path as $name', (caller) => {
  it('is written by a fast run, private to its owner, and a torn, forged or foreign one never changes what runs', async () => {
    const project = await pulledProject(caller, yaml());
    const dir = join(project.env.HOME!, '.cache', 'envlock', 'code');
    await expectFastHit(project);
    // The run path's own cache (locking the project left the lock bundle's beside it).
    const names = readdirSync(dir).filter((name) => name.startsWith('fast-run-'));
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(new RegExp(`^fast-run-[0-9a-f]{32}-${process.version.replace(/\./g, '\\.')}-${process.arch}\\.v8$`));
    const file = join(dir, names[0]!);
    // Other builds' caches stay beside it (a site's envlock and a user's own), the newest four
    // in all: writing this build's removes the oldest beyond that.
    const other = (n: number, age: number): string => {
      const path = join(dir, names[0]!.replace(/^fast-run-[0-9a-f]{32}/, `fast-run-${String(n).repeat(32)}`));
      writeFileSync(path, 'old');
      if (caller.asUser) chownSync(path, NOBODY.uid, NOBODY.gid);
      const when = new Date(Date.now() - age * 60_000);
      utimesSync(path, when, when);
      return path.split('/').pop()!;
    };
    const others = [other(1, 1), other(2, 2), other(3, 3), other(4, 4)];
    rmSync(file);
    expect(await run(project, ['run', '--', 'true'])).toMatchObject({ full: false, code: 0 });
    expect(readdirSync(dir).filter((name) => name.startsWith('fast-run-')).sort()).toEqual([...others.slice(0, 3), names[0]!].sort());
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(file).uid).toBe(owner(caller).uid);
    const good = readFileSync(file);
    expect(good.length).toBeGreaterThan(1000);
    const stage = async () => run(project, ['run', '--', 'sh', '-c', 'echo $STAGE $ENVLOCK_ENV']);
    expect(await stage()).toMatchObject({ full: false, stdout: 'one bb\n', code: 0 });
    // Bytes that are not V8's, and a cache cut short: V8 refuses them, the run is the same, and
    // the fast path writes a good cache in their place.
    for (const bad of [Buffer.alloc(good.length, 0x5a), good.subarray(0, good.length >> 1)]) {
      writeFileSync(file, bad);
      expect(await stage()).toMatchObject({ full: false, stdout: 'one bb\n', code: 0 });
      const rewritten = readFileSync(file);
      expect(rewritten.equals(bad)).toBe(false);
      expect(rewritten.length).toBeGreaterThan(1000);
    }
    // A cache someone else could write, or someone else's, is not read (nor trusted to stay).
    chmodSync(file, 0o620);
    expect(await stage()).toMatchObject({ full: false, stdout: 'one bb\n', code: 0 });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stranger = caller.asUser ? { uid: 0, gid: 0 } : NOBODY;
    chownSync(file, stranger.uid, stranger.gid);
    expect(await stage()).toMatchObject({ full: false, stdout: 'one bb\n', code: 0 });
    expect(statSync(file).uid).toBe(owner(caller).uid);
  });
});
