// The prepared-run cache (issues 12.5 and 14.2 "Stale fast paths"), as root and as nobody: a
// repeated run takes it, and every change between two runs that the cached answer depends on,
// or a cache file that is torn, hostile or not the caller's, reaches the slow path and the
// correct result.

import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLI_PATH, NOBODY, REPO_ROOT, makeTempDir, removeTempDirs } from '../../helpers/cli.js';
import { CALLERS, pulledProject, run, type Caller, type RunProject } from './run-helpers.js';

const registry = inject('registry');
afterAll(() => removeTempDirs());

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
    expect(entries(project)).toHaveLength(1);
  });

  it('is not used after the declaration or the lock changed', async () => {
    const decl = join(project.dir, 'envlock.yaml');
    const lock = join(project.dir, 'envlock.lock');
    const [declBefore, lockBefore] = [readFileSync(decl, 'utf8'), readFileSync(lock, 'utf8')];
    try {
      await run(project, ['run', '--', 'true']);
      writeFileSync(decl, declBefore.replace('STAGE: one', 'STAGE: two'));
      expect((await run(project, ['run', '--', 'sh', '-c', 'echo $STAGE'])).stdout).toBe('two\n');
      writeFileSync(decl, declBefore);
      // A lock edited by hand (still fresh: features are not declared) is a new key: the CPU check runs again.
      writeFileSync(lock, lockBefore.replace(/features = \[/g, 'features = ["amx-imaginary", '));
      const refused = await run(project, ['run', '--json', '--', 'true']);
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
    for (let i = 0; i < 2; i++) expect((await run(project, ['run', '--', 'true'])).code).toBe(0);
    // Where sse2 is not seen, the same project must be refused before anything runs.
    const masked = await run(project, ['run', '--json', '--', 'echo', 'ran'], { env: { ENVLOCK_CPU_MASK: 'sse2' } });
    expect(masked.stdout).not.toContain('ran');
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
    for (const home of [homes[0]!, homes[0]!, homes[1]!]) {
      const result = await run(tilde, ['run', '--', 'sh', '-c', 'echo $HOME; cat /data/mark'], { env: { HOME: home } });
      expect(result.stdout).toBe(`${home}\n${home}\n`);
    }
  });

  it('is not used after its image was removed: the run pulls it again, or says offline that it cannot', async () => {
    await run(project, ['run', '--', 'true']);
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
    const online = await run(project, ['run', '--', 'sh', '-c', 'echo $STAGE']);
    expect(online.stdout).toBe('one\n');
    expect(online.code).toBe(0);
  });

  it('is not used after its image was damaged (its meta record torn): the run refuses it', async () => {
    await run(project, ['run', '--', 'true']);
    const rootfs = join(project.env.ENVLOCK_STORE!, 'rootfs', 'sha256');
    const meta = join(rootfs, readdirSync(rootfs).find((n) => n.endsWith('.json'))!);
    const text = readFileSync(meta, 'utf8');
    try {
      writeFileSync(meta, text.slice(0, 20));
      const result = await run(project, ['run', '--json', '--', 'echo', 'ran']);
      expect(result.stdout).not.toContain('ran');
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
    writeFileSync(file, readFileSync(file, 'utf8').slice(0, 40));
    expect((await run(project, ['run', '--', 'sh', '-c', 'echo $STAGE'])).stdout).toBe('one\n');
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
    expect(result.stdout).toBe('genuine\n');
  });

  it('ignores a cache file written by another user', async () => {
    rmSync(cacheDir(project), { recursive: true, force: true });
    await run(project, ['run', '--', 'true']);
    const file = onlyEntry(project);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"STAGE":"one"', '"STAGE":"forged"'));
    const other = caller.asUser ? { uid: 0, gid: 0 } : NOBODY;
    chownSync(file, other.uid, other.gid);
    const result = await run(project, ['run', '--', 'sh', '-c', 'echo $STAGE']);
    expect(result.stdout).toBe('one\n');
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

describe('a new envlock version', () => {
  it('does not take the cache an older version wrote', async () => {
    const project = await pulledProject({ name: 'root' }, yaml());
    // A copy of the built package whose version differs, as after an upgrade.
    const pkg = makeTempDir('pkg');
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ ...manifest, version: `${manifest.version}-next` }));
    cpSync(join(REPO_ROOT, 'dist'), join(pkg, 'dist'), { recursive: true });
    mkdirSync(join(pkg, 'native'));
    cpSync(join(REPO_ROOT, 'native', 'binding.gyp'), join(pkg, 'native', 'binding.gyp'));
    cpSync(join(REPO_ROOT, 'native', 'build', 'Release'), join(pkg, 'native', 'build', 'Release'), { recursive: true });
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(pkg, 'node_modules'));
    await run(project, ['run', '--', 'true']);
    const before = entries(project);
    expect(before).toHaveLength(1);
    const cli = CLI_PATH.replace(REPO_ROOT.replace(/\/$/, ''), pkg);
    const out = execFileSync(process.execPath, [cli, 'run', '--', 'sh', '-c', 'echo $STAGE'], { cwd: project.dir, env: { PATH: process.env.PATH, ...project.env }, encoding: 'utf8' });
    expect(out).toBe('one\n');
    // The slow path ran and left an entry of the new version beside the old one.
    expect(entries(project)).toHaveLength(2);
  });
});
