// `envlock slurm plugstack`: the one plugstack.conf line an administrator adds, with absolute
// paths that exist, `optional` on request, the --json envelope, and help.

import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDirs, runCli } from '../../helpers/cli.js';

afterAll(() => removeTempDirs());

describe('envlock slurm plugstack', () => {
  it('prints one `required` line: the plugin and the envlock and Node it runs, all absolute and present', async () => {
    const result = await runCli(['slurm', 'plugstack'], { cwd: makeTempDir('plugstack') });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.endsWith('\n')).toBe(true);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const [mode, plugin, ...args] = lines[0]!.split(' ');
    expect(mode).toBe('required');
    expect(plugin).toMatch(/\/envlock_spank\.so$/);
    expect(args.map((a) => a.split('=')[0])).toEqual(['envlock', 'node']);
    for (const path of [plugin!, ...args.map((a) => a.slice(a.indexOf('=') + 1))]) {
      expect(isAbsolute(path)).toBe(true);
      expect(existsSync(path)).toBe(true);
    }
  });

  it('--optional prints `optional`, and --json one envelope with the parts', async () => {
    const optional = await runCli(['slurm', 'plugstack', '--optional'], { cwd: makeTempDir('plugstack') });
    expect(optional.stdout).toMatch(/^optional \/\S+\/envlock_spank\.so envlock=\S+ node=\S+\n$/);
    const json = await runCli(['slurm', 'plugstack', '--json'], { cwd: makeTempDir('plugstack') });
    const doc = json.json<{ ok: boolean; command: string; result: { mode: string; plugin: string; args: string[]; line: string } }>();
    expect(doc.ok).toBe(true);
    expect(doc.command).toBe('slurm');
    expect(doc.result.mode).toBe('required');
    expect(doc.result.line).toBe([doc.result.mode, doc.result.plugin, ...doc.result.args].join(' '));
  });

  it('explains itself in --help, and a missing or unknown sub-command is a usage error (exit 2)', async () => {
    const help = await runCli(['slurm', '--help'], { cwd: makeTempDir('plugstack') });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('envlock slurm plugstack [--optional]');
    for (const args of [['slurm'], ['slurm', 'nonsense']]) {
      const bad = await runCli(args, { cwd: makeTempDir('plugstack') });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^error: .*sub-command/);
      expect(bad.stderr).toContain('hint: Use one of: plugstack, prepare.');
    }
  });
});
