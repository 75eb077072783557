// `envlock modulefiles` checked with the real Lmod (Debian's lmod): the written Lua and Tcl
// modulefiles load, show their whatis text, and run the command inside the pinned image.
// Also `envlock shim`: the eval form and the static file's path.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../../cli/args.js';
import { command as modulefilesCommand } from '../../../cli/commands/modulefiles.js';
import { command as moduleCommand } from '../../../cli/commands/module.js';
import { command as shimCommand } from '../../../cli/commands/shim.js';
import { makeContext } from '../../../core/context.js';
import { EnvlockError } from '../../../core/errors.js';
import { REPO_ROOT } from '../../helpers/cli.js';
import { launcher, makeProject, openTempDir } from './fixture.js';

const LMOD_INIT = '/usr/share/lmod/lmod/init/bash';
let base: string;
let tree: string;
let env: Record<string, string>;

beforeAll(async () => {
  base = openTempDir('modulefiles');
  tree = path.join(base, 'tree');
  env = { HOME: base, ENVLOCK_STORE: path.join(base, 'store'), ENVLOCK_LAUNCHER: launcher(base), ENVLOCK_MODULEPATH: tree };
  const project = makeProject(base, env.ENVLOCK_STORE!, { env: 'analysis', version: '2.0', commands: ['analysis-tool'], provides: ['python/3.11'], description: 'Analysis "tools" [x] $HOME' });
  await moduleCommand.run(parseArgs(['publish', '2.0', '--default'], moduleCommand), makeContext({ cwd: project.dir, env }));
}, 120_000);

afterAll(() => {
  if (base) fs.rmSync(base, { recursive: true, force: true });
});

function lmod(script: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('bash', ['-c', `. ${LMOD_INIT}\n${script}`], { cwd: '/', encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: '/', LC_ALL: 'C' }, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('envlock modulefiles', () => {
  for (const format of ['lua', 'tcl'] as const) {
    it(`writes ${format} modulefiles that real Lmod loads and that run the pinned command`, async () => {
      const out = path.join(base, `mf-${format}`);
      const outcome = await modulefilesCommand.run(parseArgs(['--format', format, '--out', out], modulefilesCommand), makeContext({ cwd: base, env }));
      expect(outcome.text).toContain(`Wrote 1 ${format} modulefile(s)`);
      const r = lmod(`export MODULEPATH='${out}'\nmodule load analysis\nanalysis-tool --version\nmodule whatis analysis 2>&1\nmodule list 2>&1`);
      expect(r.stdout).toContain('analysis-tool 2.0\n');
      expect(r.stdout).toContain('Analysis "tools" [x] $HOME');
      expect(r.stdout).toMatch(/analysis\/2\.0/);
      expect(r.status).toBe(0);
    });
  }

  it('refuses to run without --out', async () => {
    const run = modulefilesCommand.run(parseArgs(['--format', 'lua'], modulefilesCommand), makeContext({ cwd: base, env }));
    await expect(run).rejects.toMatchObject({ code: 'USAGE', exitCode: 2 });
    await expect(run).rejects.toBeInstanceOf(EnvlockError);
  });
});

describe('envlock shim', () => {
  it('prints a line that defines module and ml when evaluated', async () => {
    const outcome = await shimCommand.run(parseArgs(['bash'], shimCommand), makeContext({ cwd: base, env }));
    const r = spawnSync('bash', ['-c', `eval "$1"\nset -eu\nmodule load analysis\nanalysis-tool --version\ntype ml | head -1`, 'x', outcome.text!], {
      cwd: '/', encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: '/', ENVLOCK_MODULEPATH: tree },
    });
    expect(r.stdout).toBe('analysis-tool 2.0\nml is a function\n');
  });

  it('prints the static file path with --path', async () => {
    const outcome = await shimCommand.run(parseArgs(['--path'], shimCommand), makeContext({ cwd: base, env }));
    expect(outcome.text).toBe(`${path.join(REPO_ROOT, 'shim', 'envlock.sh')}\n`);
  });

  it('rejects a shell it does not know with a usage error', async () => {
    await expect(shimCommand.run(parseArgs(['fish'], shimCommand), makeContext({ cwd: base, env }))).rejects.toMatchObject({
      code: 'USAGE', exitCode: 2, message: '`envlock shim` does not know the shell `fish`.',
    });
  });
});
