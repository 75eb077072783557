// Finding the project from a subdirectory, as root and as nobody: every command looks upward for
// envlock.yaml like git and cargo do, the command still runs where the user is (its output lands
// there, on the host), and the search never climbs out of $HOME.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeTempDir, removeTempDirs, runCli } from '../../helpers/cli.js';
import { CALLERS, pulledProject, run, type RunProject } from './run-helpers.js';

const registry = inject('registry');
afterAll(() => removeTempDirs());

describe.each(CALLERS)('a project found from a subdirectory, as $name', (caller) => {
  let project: RunProject;
  let sub: string;
  beforeAll(async () => {
    project = await pulledProject(caller, `version: 1\nenvironments:\n  bb:\n    image: ${registry}/busybox:latest\n    platforms: [linux/amd64]\n`);
    sub = join(project.dir, 'analysis', 'run-1');
    mkdirSync(sub, { recursive: true });
    if (caller.asUser) execFileSync('chown', ['-R', `${caller.asUser}:nogroup`, join(project.dir, 'analysis')]);
  });
  const inSub = (args: string[]) => runCli(args, { cwd: sub, env: project.env, ...(caller.asUser ? { asUser: caller.asUser } : {}) });

  it('runs from a subdirectory, in that subdirectory, and its output reaches the host', async () => {
    const result = await inSub(['run', '--', 'sh', '-c', 'pwd; echo written > results.txt']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`${sub}\n`);
    expect(result.code).toBe(0);
    expect(readFileSync(join(sub, 'results.txt'), 'utf8')).toBe('written\n');
    // The second run takes the prepared-run cache, found the same way.
    const again = await inSub(['run', '--', 'pwd']);
    expect(again.stdout).toBe(`${sub}\n`);
  });

  it('checks, pulls and re-locks the project above, writing the lock beside its declaration', async () => {
    expect((await inSub(['lock', '--check'])).code).toBe(0);
    expect((await inSub(['pull', '-q'])).code).toBe(0);
    const locked = await inSub(['lock']);
    expect(locked.code).toBe(0);
    expect(locked.stdout).toContain('envlock.lock unchanged.');
    expect(existsSync(join(sub, 'envlock.lock'))).toBe(false);
  });
});

describe('where the upward search stops', () => {
  it('does not climb above $HOME, and names the directories it searched', async () => {
    const outer = makeTempDir('outer');
    writeFileSync(join(outer, 'envlock.yaml'), `version: 1\nenvironments:\n  bb:\n    image: ${registry}/busybox:latest\n`);
    const home = join(outer, 'home');
    const work = join(home, 'work');
    mkdirSync(work, { recursive: true });
    const result = await runCli(['run', '--json', '--', 'true'], { cwd: work, env: { HOME: home } });
    const error = result.json<{ error: { code: string; message: string } }>().error;
    expect(error.code).toBe('DECLARATION_MISSING');
    expect(error.message).toBe(`No envlock.yaml or envlock.toml in ${work} or any directory above it up to ${home}.`);
    // The same directory outside $HOME finds the project above it.
    const found = await runCli(['lock', '--check', '--json'], { cwd: work, env: { HOME: join(outer, 'elsewhere') } });
    expect(found.json<{ error: { code: string } }>().error.code).toBe('LOCK_MISSING');
  });

  it('outside $HOME climbs to the filesystem root and no further, and says so', async () => {
    const deep = join(makeTempDir('nowhere'), 'a', 'b');
    mkdirSync(deep, { recursive: true });
    for (let dir = deep; dir !== '/'; dir = join(dir, '..')) expect(existsSync(join(dir, 'envlock.yaml'))).toBe(false);
    const result = await runCli(['run', '--json', '--', 'true'], { cwd: deep, env: { HOME: '/nonexistent' } });
    const error = result.json<{ error: { code: string; message: string } }>().error;
    expect(error.code).toBe('DECLARATION_MISSING');
    expect(error.message).toBe(`No envlock.yaml or envlock.toml in ${deep} or any directory above it up to /.`);
    expect(result.code).toBe(1);
  });
});
