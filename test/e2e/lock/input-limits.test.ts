// Inputs too big or too strange (issue 13.6), as root and as nobody: a declaration or lock past
// its documented size is refused in one sentence; a newline or escape in an echoed name or
// reference stays inside its line, and a 5,000-character reference is not echoed whole; YAML
// aliases that compose megabytes of environment are refused by `lock`, and a variable the kernel
// would refuse is named before `run` starts anything.

import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { makeTempDir, removeTempDirs, runCli, type CliResult } from '../../helpers/cli.js';

const registry = inject('registry');

afterAll(() => removeTempDirs());

type Caller = { name: string; asUser?: 'nobody' };
const CALLERS: Caller[] = [{ name: 'root' }, { name: 'nobody', asUser: 'nobody' }];

interface Failure {
  code: string;
  message: string;
  hint?: string;
}

/** The lines of a human error: `error:` first, `hint:` last, and nothing that looks like a second error. */
function expectOneError(result: CliResult): string[] {
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines[0]).toMatch(/^error: /);
  expect(lines.filter((l) => l.startsWith('error:')), result.stderr).toHaveLength(1);
  expect(lines.filter((l) => l.startsWith('hint:')).length, result.stderr).toBeLessThanOrEqual(1);
  expect(result.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
  return lines;
}

describe.each(CALLERS)('inputs too big or too strange, as $name', (caller) => {
  const as = caller.asUser ? { asUser: caller.asUser } : {};
  const forUser = caller.asUser ? { forUser: caller.asUser } : {};
  const busybox = `${registry}/busybox:latest`;

  function project(text: string, name = 'envlock.yaml'): string {
    const dir = makeTempDir('limits', forUser);
    writeFileSync(join(dir, name), text);
    if (caller.asUser) execFileSync('chown', ['-R', 'nobody:nogroup', dir]);
    return dir;
  }
  const declaration = (image = busybox, extra = '') => `version: 1\nenvironments:\n  e:\n    image: ${image}\n    platforms: [linux/amd64]\n${extra}`;

  it('refuses a declaration over 1 MiB, in YAML and TOML, before it reaches a registry', async () => {
    const padding = `# ${'x'.repeat(100)}\n`.repeat(21_000);
    for (const [name, text] of [['envlock.yaml', declaration() + padding], ['envlock.toml', `version = 1\n${padding}[environments.e]\nimage = "${busybox}"\n`]] as const) {
      const dir = project(text, name);
      for (const command of [['lock'], ['run', 'e', '--', 'true'], ['lock', '--check']]) {
        const json = await runCli([command[0]!, '--json', ...command.slice(1)], { cwd: dir, ...as });
        expect(json.code, json.stdout).toBe(1);
        const error = json.json<{ error: Failure }>().error;
        expect(error.code).toBe('DECLARATION_INVALID');
        expect(error.message).toBe(`Declaration ${join(dir, name)} is ${Buffer.byteLength(text).toLocaleString('en-US')} bytes, more than the 1 MiB envlock reads.`);
      }
      expect(existsSync(join(dir, 'envlock.lock'))).toBe(false);
      expectOneError(await runCli(['lock'], { cwd: dir, ...as }));
    }
  });

  it('refuses a lock over 16 MiB and leaves it as it was', async () => {
    const dir = project(declaration());
    expect((await runCli(['lock'], { cwd: dir, ...as })).code).toBe(0);
    appendFileSync(join(dir, 'envlock.lock'), `# ${'y'.repeat(1000)}\n`.repeat(17_000));
    const before = readFileSync(join(dir, 'envlock.lock'));
    for (const command of [['lock', '--check'], ['run', 'e', '--', 'true'], ['pull']]) {
      const json = await runCli([command[0]!, '--json', ...command.slice(1)], { cwd: dir, ...as });
      expect(json.code, json.stdout).toBe(1);
      const error = json.json<{ error: Failure }>().error;
      expect(error.code).toBe('LOCK_INVALID');
      expect(error.message).toBe(`${join(dir, 'envlock.lock')} is ${before.length.toLocaleString('en-US')} bytes, more than the 16 MiB envlock reads.`);
    }
    expectOneError(await runCli(['lock', '--check'], { cwd: dir, ...as }));
    expect(readFileSync(join(dir, 'envlock.lock')).equals(before)).toBe(true);
  });

  it('keeps a newline or escape in a name or reference inside its line', async () => {
    const forged = 'error: forged\nhint: run rm -rf ~';
    // In the declaration: an environment name and an image reference.
    const dir = project(`version: 1\nenvironments:\n  ${JSON.stringify(`e\n${forged}`)}:\n    image: ${JSON.stringify(`${busybox}\n${forged}`)}\n`);
    const lock = await runCli(['lock'], { cwd: dir, ...as });
    expect(lock.code).toBe(1);
    const lines = expectOneError(lock);
    expect(lines.some((l) => l.startsWith('hint: run rm'))).toBe(false);
    expect(lock.stderr).toContain(`\`e\\nerror: forged\\nhint: run rm -rf ~\``);
    // On the command line: an environment name, an unknown command and a flag value, with ESC too.
    const good = project(declaration());
    const empty = makeTempDir('limits-empty', forUser);
    for (const [args, cwd] of [[['run', `e\n${forged}`, '--', 'true'], good], [[`lo\u001b[2Jck\n${forged}`], good], [['init', '--image', `a b\n${forged}`], empty]] as const) {
      const result = await runCli(args, { cwd, ...as });
      expect(result.code, result.stderr).not.toBe(0);
      expect(expectOneError(result).some((l) => l.startsWith('hint: run rm'))).toBe(false);
    }
    // The module shim's "unknown" answer (printed for `module load NAME`), in Lmod's words.
    const unknown = await runCli(['module', 'unknown', `x\n${forged}`], { cwd: good, env: { ENVLOCK_MODULEPATH: empty }, ...as });
    expect(unknown.stdout).toContain('The following module(s) are unknown: "x\\nerror: forged\\nhint: run rm -rf ~".');
    expect(unknown.stdout.split('\n').some((l) => l.startsWith('error: forged') || l.startsWith('hint: run rm'))).toBe(false);
  });

  it('shortens a 5,000-character reference instead of echoing it whole', async () => {
    const long = `${registry}/${'a'.repeat(5000)}:latest`;
    for (const dir of [project(declaration(long)), project(declaration(`${busybox}\u00a0${'b'.repeat(5000)}`))]) {
      const result = await runCli(['lock'], { cwd: dir, ...as });
      expect(result.code).toBe(1);
      const lines = expectOneError(result);
      expect(result.stderr.length, result.stderr).toBeLessThan(1500);
      expect(lines[0]).toMatch(/…\[4,\d{3} characters left out\]…/);
      const json = await runCli(['lock', '--json'], { cwd: dir, ...as });
      expect(json.json<{ error: Failure }>().error.message.length).toBeLessThan(1000);
    }
  });

  it('refuses at lock time an environment that YAML aliases blow up, and writes no lock', async () => {
    const aliases = `    env:\n      BIG: &big "${'x'.repeat(60_000)}"\n${Array.from({ length: 40 }, (_, i) => `      V${i}: *big\n`).join('')}` +
      `    prepend-path:\n      PATH: [${Array(3).fill('*big').join(', ')}]\n`;
    const dir = project(declaration(busybox, aliases));
    const json = await runCli(['lock', '--json'], { cwd: dir, ...as });
    expect(json.code).toBe(1);
    const error = json.json<{ error: Failure & { details: { issues: { path: string; message: string }[] } } }>().error;
    expect(error.code).toBe('DECLARATION_INVALID');
    expect(error.details.issues.map((i) => i.path)).toEqual(['environments.e.prepend-path.PATH', 'environments.e']);
    expect(error.details.issues[0]!.message).toContain('more than the 128 KiB Linux allows one variable');
    expect(error.details.issues[1]!.message).toMatch(/^its variables compose to 2,\d{3},\d{3} bytes, more than the 512 KiB envlock allows an environment/);
    expect(existsSync(join(dir, 'envlock.lock'))).toBe(false);
    expectOneError(await runCli(['lock'], { cwd: dir, ...as }));
  });

  it('names a variable the kernel would refuse before run starts anything, instead of "cannot execute"', async () => {
    // Under the limit as declared; the image's own PATH, appended at run, takes it over.
    const entry = `/${'p'.repeat(128 * 1024 - 20)}`;
    const dir = project(declaration(busybox, `    prepend-path:\n      PATH: ${entry}\n`));
    const store = join(makeTempDir('store', forUser), 's');
    for (const command of [['lock'], ['pull', '-q']]) {
      const step = await runCli(command, { cwd: dir, env: { ENVLOCK_STORE: store }, ...as });
      expect(step.code, step.stderr).toBe(0);
    }
    const result = await runCli(['run', 'e', '--json', '--', 'true'], { cwd: dir, env: { ENVLOCK_STORE: store }, ...as });
    expect(result.code, result.stderr + result.stdout).toBe(125);
    const error = result.json<{ error: Failure }>().error;
    expect(error.code).toBe('LAUNCH_FAILED');
    expect(error.message).toMatch(/^The variable PATH would be 131,\d{3} bytes inside e, more than the 128 KiB Linux allows one variable/);
  });
});
