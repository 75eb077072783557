// What a terminal user notices: signals sent to envlock reach the command, a signal death passes
// through, a host without user namespaces gets exit 4 and the fix, and `envlock shell` behaves
// like a shell in a real pseudo-terminal (prompt marker, Ctrl-Z, fg, Ctrl-C).

import { execFileSync, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLI_PATH, removeTempDirs } from '../../helpers/cli.js';
import { CALLERS, pulledProject, type RunProject } from './run-helpers.js';

const registry = inject('registry');
afterAll(() => removeTempDirs());

const YAML = `version: 1\nenvironments:\n  bb:\n    image: ${registry}/busybox:latest\n    platforms: [linux/amd64]\n`;

/** Spawns the CLI directly (setpriv, not runuser, so the pid we signal is envlock's own). */
function spawnCli(project: RunProject, args: string[]) {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', ...project.env };
  const prefix = project.caller.asUser ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'] : [];
  const [file, ...rest] = [...prefix, process.execPath, CLI_PATH, ...args];
  const child = spawn(file!, rest, { cwd: project.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const ready = new Promise<void>((resolve) => child.stdout.on('data', () => stdout.includes('ready') && resolve()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { child, ready, done, output: () => stdout };
}

describe.each(CALLERS)('signals as $name', (caller) => {
  let project: RunProject;
  beforeAll(async () => {
    project = await pulledProject(caller, YAML);
  });

  it('SIGTERM to envlock reaches the command, and envlock exits with the command\'s status', async () => {
    const run = spawnCli(project, ['run', '--', 'sh', '-c', 'trap "echo trapped; exit 3" TERM; echo ready; while :; do sleep 0.1; done']);
    await run.ready;
    run.child.kill('SIGTERM');
    const { code } = await run.done;
    expect(code).toBe(3);
    expect(run.output()).toContain('trapped');
  });

  it('a command that ignores SIGTERM is not killed by envlock', async () => {
    const run = spawnCli(project, ['run', '--', 'sh', '-c', 'trap "" TERM; echo ready; sleep 1; echo survived']);
    await run.ready;
    run.child.kill('SIGTERM');
    const { code } = await run.done;
    expect(run.output()).toContain('survived');
    expect(code).toBe(0);
  });

  it('a command killed by a signal makes envlock die of the same signal', async () => {
    const run = spawnCli(project, ['run', '--', 'sh', '-c', 'echo ready; kill -KILL $$']);
    const { code, signal } = await run.done;
    expect(signal === 'SIGKILL' || code === 137).toBe(true);
  });

  it('exits 4 with the reason and the fix when user namespaces are not available', async () => {
    const env = { ...process.env, ...project.env, NO_COLOR: '1' };
    const prefix = caller.asUser ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'] : [];
    const script = 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"';
    let code = 0;
    let stderr = '';
    try {
      execFileSync(prefix[0] ?? 'unshare', [...prefix.slice(1), ...(prefix.length ? ['unshare'] : []), '-U', '--map-root-user', 'sh', '-c', script, 'sh', process.execPath, CLI_PATH, 'run', '--', 'true'], { cwd: project.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      const e = error as { status: number; stderr: Buffer };
      code = e.status;
      stderr = e.stderr.toString();
    }
    expect(code).toBe(4);
    expect(stderr).toContain('max_user_namespaces');
    expect(stderr).toContain('administrator');
  });
});

describe('envlock shell in a pseudo-terminal', () => {
  let project: RunProject;
  const session = `envlock-shell-${process.pid}`;
  beforeAll(async () => {
    project = await pulledProject({ name: 'root' }, YAML);
  });
  afterAll(() => {
    try {
      execFileSync('tmux', ['kill-session', '-t', session], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  });

  const screen = () => execFileSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' });
  const keys = (...k: string[]) => execFileSync('tmux', ['send-keys', '-t', session, ...k]);
  async function waitFor(text: string | RegExp): Promise<string> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const s = screen();
      if (typeof text === 'string' ? s.includes(text) : text.test(s)) return s;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(text)}; screen:\n${s}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('shows the environment in the prompt, sets the markers, and supports Ctrl-Z, fg and Ctrl-C', async () => {
    const envs = Object.entries({ ...project.env, NO_COLOR: '1', SHELL: '/bin/sh' }).map(([k, v]) => `${k}=${v}`);
    execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '150', '-y', '40', '-c', project.dir, 'env', ...envs, process.execPath, CLI_PATH, 'shell', 'bb']);
    await waitFor('(bb)');
    keys('echo "marker-$ENVLOCK_ENV-$(id -u)"', 'Enter');
    await waitFor('marker-bb-0');
    keys('sleep 60', 'Enter');
    await new Promise((r) => setTimeout(r, 500));
    keys('C-z');
    await waitFor(/Stopped/);
    keys('fg', 'Enter');
    await new Promise((r) => setTimeout(r, 500));
    keys('C-c');
    keys('echo "status-$?"', 'Enter');
    await waitFor('status-130');
    keys('exit', 'Enter');
  });
});
