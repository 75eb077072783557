// Regression (issue 12.4): `envlock run` handed the launcher the whole environment as argv, so
// proxy credentials sat in /proc/PID/cmdline, readable by every user of the node, for the job's
// life. The spec now travels through a descriptor; the command still sees the variable.

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLI_PATH, removeTempDirs } from '../../helpers/cli.js';
import { CALLERS, pulledProject, type RunProject } from './run-helpers.js';

const registry = inject('registry');
afterAll(() => removeTempDirs());

const SECRET = 'pa55-not-in-argv';
const PROXY = `http://alice:${SECRET}@proxy.invalid:3128`;

/** Every process whose command line holds `needle`, as "PID COMM". */
function cmdlinesHolding(needle: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`).includes(needle)) found.push(`${pid} ${readFileSync(`/proc/${pid}/comm`, 'utf8').trim()}`);
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

describe.each(CALLERS)('a running environment as $name', (caller) => {
  let project: RunProject;
  beforeAll(async () => {
    project = await pulledProject(caller, `version: 1\nenvironments:\n  bb:\n    image: ${registry}/busybox:latest\n    platforms: [linux/amd64]\n`);
  });

  it('keeps proxy credentials out of every process command line, and still passes them to the command', async () => {
    const cli = [process.execPath, CLI_PATH, 'run', '--', 'sh', '-c', 'echo "$https_proxy"; echo ready; exec sleep 60'];
    // runuser keeps the environment (but HOME), so the secret is in no argv of the harness either.
    const [file, ...args] = caller.asUser ? ['/usr/sbin/runuser', '-u', caller.asUser, '--', ...cli] : cli;
    const child = spawn(file!, args, {
      cwd: project.dir,
      env: { PATH: process.env.PATH, NO_COLOR: '1', ...project.env, https_proxy: PROXY },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "ready" from the command; stderr: ${stderr}`)), 60_000);
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        if (stdout.includes('ready\n')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('close', () => reject(new Error(`the run ended early: ${stderr}`)));
    });
    const holders = cmdlinesHolding(SECRET);
    process.kill(-child.pid!, 'SIGKILL');
    await closed;
    expect(stdout.split('\n')[0]).toBe(PROXY);
    expect(holders).toEqual([]);
  });
});
