// A pulled project for run tests, owned by the user who will run it (root or nobody).

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { makeTempDir, runCli } from '../../helpers/cli.js';

export type Caller = { name: string; asUser?: 'nobody' };
export const CALLERS: Caller[] = [{ name: 'root' }, { name: 'nobody', asUser: 'nobody' }];

export interface RunProject {
  dir: string;
  env: Record<string, string>;
  caller: Caller;
}

export async function pulledProject(caller: Caller, yaml: string): Promise<RunProject> {
  const forUser = caller.asUser ? { forUser: caller.asUser } : {};
  const dir = makeTempDir('run', forUser);
  const home = makeTempDir('home', forUser);
  const store = join(makeTempDir('store', forUser), 'store');
  writeFileSync(join(dir, 'envlock.yaml'), yaml);
  if (caller.asUser) execFileSync('chown', ['-R', `${caller.asUser}:nogroup`, dir]);
  const env = { HOME: home, ENVLOCK_STORE: store };
  const opts = { cwd: dir, env, ...(caller.asUser ? { asUser: caller.asUser } : {}) };
  const locked = await runCli(['lock'], opts);
  expect(locked.code, locked.stderr).toBe(0);
  const pulled = await runCli(['pull', '-q'], opts);
  expect(pulled.code, pulled.stderr).toBe(0);
  return { dir, env, caller };
}

export function run(project: RunProject, args: string[], extra: { input?: string; env?: Record<string, string>; entry?: string; cwd?: string } = {}) {
  return runCli(args, {
    cwd: extra.cwd ?? project.dir,
    ...(extra.entry === undefined ? {} : { entry: extra.entry }),
    env: { ...project.env, ...(extra.env ?? {}) },
    ...(project.caller.asUser ? { asUser: project.caller.asUser } : {}),
    ...(extra.input === undefined ? {} : { input: extra.input }),
  });
}
