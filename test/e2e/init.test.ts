// `envlock init` through the built CLI: exit statuses, the --json envelope, and errors that
// read as one sentence and a hint, never a stack trace. Needs `npx tsc -p .` first.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../dist/bundle/envlock.js', import.meta.url));

interface Transcript {
  status: number;
  stdout: string;
  stderr: string;
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'envlock-e2e-init-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function envlock(...argv: string[]): Promise<Transcript> {
  return new Promise((resolve, reject) => {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, NO_COLOR: '1', LC_ALL: 'C' };
    execFile(process.execPath, [CLI, ...argv], { cwd: dir, env, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ status: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
    });
  });
}

/** An error a user caused reads as "error: …" and "hint: …", with no trace of the code inside. */
function expectCleanError(stderr: string): void {
  expect(stderr).toMatch(/^error: /);
  expect(stderr).toMatch(/\nhint: /);
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).not.toContain('internal error');
}

describe('envlock init (built CLI)', () => {
  it('is built', () => {
    expect(existsSync(CLI), 'run `npx tsc -p .` before the e2e tests').toBe(true);
  });

  it('writes a declaration and exits 0 with one line on stdout', async () => {
    const run = await envlock('init', '--image', 'registry.example.org/lab/solver:1.4', '--platform', 'linux/x86_64');
    expect(run).toEqual({ status: 0, stdout: 'Wrote envlock.yaml with environment `solver`. Next: run `envlock lock` to pin it.\n', stderr: '' });
    const text = await readFile(path.join(dir, 'envlock.yaml'), 'utf8');
    expect(text).toContain('image: "registry.example.org/lab/solver:1.4"');
    expect(text).toContain('platforms: ["linux/amd64"]');
  });

  it('prints one JSON envelope on success and on failure', async () => {
    const ok = await envlock('init', '--format', 'toml', '--json', '-C', dir);
    expect(ok.status).toBe(0);
    expect(ok.stderr).toBe('');
    expect(JSON.parse(ok.stdout)).toEqual({
      ok: true,
      command: 'init',
      result: { file: path.join(dir, 'envlock.toml'), format: 'toml', environment: 'default', replaced: [] },
    });
    const again = await envlock('--json', 'init');
    expect(again.status).toBe(1);
    const envelope = JSON.parse(again.stdout);
    expect(envelope).toMatchObject({ ok: false, command: 'init', error: { code: 'DECLARATION_EXISTS', exitCode: 1 } });
    expect(envelope.error.message).toContain('envlock.toml already exists');
    expect(envelope.error.hint).toContain('--force');
  });

  it('refuses to overwrite without --force: exit 1, a sentence and a hint, the file untouched', async () => {
    await writeFile(path.join(dir, 'envlock.yaml'), 'precious\n');
    const run = await envlock('init');
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expectCleanError(run.stderr);
    expect(run.stderr).toContain(`envlock.yaml already exists in ${dir}`);
    expect(await readFile(path.join(dir, 'envlock.yaml'), 'utf8')).toBe('precious\n');
    const forced = await envlock('init', '--force');
    expect(forced.status).toBe(0);
    expect(forced.stdout).toContain('(replaced envlock.yaml)');
  });

  it('exits 2 for usage errors', async () => {
    const format = await envlock('init', '--format', 'json');
    expect(format.status).toBe(2);
    expect(format.stderr).toContain('expected one of yaml, toml');
    const unknown = await envlock('init', '--imgae', 'x');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('Did you mean `--image`?');
    const name = await envlock('init', '--name', 'Bad Name');
    expect(name.status).toBe(2);
    expectCleanError(name.stderr);
    expect(existsSync(path.join(dir, 'envlock.yaml'))).toBe(false);
  });

  it('reports a bad platform as PLATFORM_INVALID, exit 1, without a stack trace', async () => {
    const run = await envlock('init', '--platform', 'linux/amd46');
    expect(run.status).toBe(1);
    expectCleanError(run.stderr);
    expect(run.stderr).toContain('Did you mean `linux/amd64`?');
    const json = JSON.parse((await envlock('init', '--platform', 'windows/arm64', '--json')).stdout);
    expect(json.error).toMatchObject({ code: 'PLATFORM_INVALID', exitCode: 1 });
  });
});
