// `--json` on every command prints exactly one envelope document on stdout, success or failure,
// and failures carry a code from the closed list with its documented exit status.

import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../core/errors.js';
import { makeTempDir, runCli } from '../helpers/cli.js';

interface Envelope {
  ok: boolean;
  command: string | null;
  result?: unknown;
  error?: { code: string; message: string; exitCode: number };
}

describe('--json everywhere', async () => {
  const listing = await runCli(['--help', '--json'], { cwd: makeTempDir('json') });
  const commands = listing.json<{ result: { commands: { name: string }[] } }>().result.commands.map((c) => c.name);

  it('lists every command', () => {
    expect(commands).toEqual(expect.arrayContaining(['init', 'lock', 'pull', 'run', 'shell', 'doctor', 'verify', 'gc', 'store', 'export', 'module', 'modulefiles', 'shim']));
  });

  it.each(commands)('`envlock %s --json` in an empty directory prints one envelope', async (name) => {
    const dir = makeTempDir(`json-${name}`);
    const result = await runCli([name, '--json', '--offline'], { cwd: dir });
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const envelope = JSON.parse(lines[0]!) as Envelope;
    expect(envelope.command).toBe(name);
    if (envelope.ok) {
      expect(result.code).toBe(0);
    } else {
      expect(Object.keys(ERROR_CODES)).toContain(envelope.error!.code);
      expect(result.code).toBe(envelope.error!.exitCode);
      expect(envelope.error!.message.length).toBeGreaterThan(10);
    }
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('--version', () => {
  it('prints the version in package.json (the bundled CLI finds it too)', async () => {
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const result = await runCli(['--version'], { cwd: makeTempDir('version') });
    expect(result.stdout).toBe(`${pkg.version}\n`);
    const json = await runCli(['--version', '--json'], { cwd: makeTempDir('version') });
    expect(json.json<{ result: { version: string } }>().result.version).toBe(pkg.version);
  });
});
