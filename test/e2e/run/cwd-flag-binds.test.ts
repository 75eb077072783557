// Regression (issue 15.3): with -C DIR, Node worked in DIR but the launcher bound its own working
// directory, so a job's output went to the private /tmp or into an unrelated directory and was
// lost with exit 0. The command now runs in exactly the directory asked for, bound from the host.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeTempDir, removeTempDirs, runCli } from '../../helpers/cli.js';
import { CALLERS, pulledProject, type RunProject } from './run-helpers.js';

const registry = inject('registry');
afterAll(() => removeTempDirs());

describe.each(CALLERS)('envlock -C DIR run, as $name', (caller) => {
  let project: RunProject;
  beforeAll(async () => {
    project = await pulledProject(caller, `version: 1\nenvironments:\n  bb:\n    image: ${registry}/busybox:latest\n    platforms: [linux/amd64]\n`);
    mkdirSync(join(project.dir, 'sub'));
    if (caller.asUser) execFileSync('chown', [`${caller.asUser}:nogroup`, join(project.dir, 'sub')]);
  });
  const from = (cwd: string, args: string[]) => runCli(args, { cwd, env: project.env, ...(caller.asUser ? { asUser: caller.asUser } : {}) });

  it('runs in the directory -C names, from a subdirectory (a project outside $HOME, under the private /tmp), and its output lands on the host', async () => {
    const result = await from(join(project.dir, 'sub'), ['-C', '..', 'run', '--', 'sh', '-c', 'pwd; echo from-up > results.txt']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${project.dir}\n`);
    expect(readFileSync(join(project.dir, 'results.txt'), 'utf8')).toBe('from-up\n');
  });

  it('runs in the directory -C names when started from /, never binding the directory it was started in', async () => {
    const result = await from('/', ['-C', project.dir, 'run', '--', 'sh', '-c', 'pwd; echo from-root > results-root.txt']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${project.dir}\n`);
    expect(readFileSync(join(project.dir, 'results-root.txt'), 'utf8')).toBe('from-root\n');
  });

  it('does the same on the prepared-run cache\'s fast path', async () => {
    await from(project.dir, ['run', '--', 'true']);
    const result = await from(join(project.dir, 'sub'), ['-C', '..', 'run', '--', 'sh', '-c', 'echo cached > results-cached.txt']);
    expect(result.code).toBe(0);
    expect(readFileSync(join(project.dir, 'results-cached.txt'), 'utf8')).toBe('cached\n');
  });
});

describe('envlock -C DIR run from an unrelated directory', () => {
  it('binds DIR, not the directory envlock was started in', async () => {
    const project = await pulledProject({ name: 'root' }, `version: 1\nenvironments:\n  bb:\n    image: ${registry}/busybox:latest\n    platforms: [linux/amd64]\n`);
    const elsewhere = makeTempDir('elsewhere');
    const result = await runCli(['-C', project.dir, 'run', '--', 'sh', '-c', `pwd; ls ${elsewhere} >/dev/null 2>&1 && echo elsewhere-visible; echo here > out.txt`], { cwd: elsewhere, env: project.env });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${project.dir}\n`);
    expect(readFileSync(join(project.dir, 'out.txt'), 'utf8')).toBe('here\n');
  });
});
