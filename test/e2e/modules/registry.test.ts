// The whole path against the real test registry: `envlock lock` a busybox image, publish it as a
// module (publish pulls it), then a batch script loads it in bash and sh and runs its commands
// inside the pinned image.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { parseArgs } from '../../../cli/args.js';
import { command } from '../../../cli/commands/module.js';
import { makeContext } from '../../../core/context.js';
import { REPO_ROOT, runCli } from '../../helpers/cli.js';
import { launcher, openTempDir } from './fixture.js';

const registry = inject('registry');
const base = openTempDir('modules-registry');
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

describe('a module from a real registry', () => {
  it('is locked, published (pulling its image) and run from a batch script in bash and sh', async () => {
    const project = path.join(base, 'project');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'envlock.yaml'), [
      'version: 1',
      'environments:',
      '  bb:',
      `    image: ${registry}/busybox:latest`,
      '    description: "Busybox from the test registry"',
      '    commands: [cat, busybox]',
      '    env: { GREETING: "hello from bb" }',
    ].join('\n') + '\n');
    const env = { HOME: base, ENVLOCK_STORE: path.join(base, 'store'), ENVLOCK_LAUNCHER: launcher(base), ENVLOCK_MODULEPATH: path.join(base, 'tree') };
    const locked = await runCli(['lock'], { cwd: project, env });
    expect(locked.stderr).toBe('');
    expect(locked.code).toBe(0);
    await command.run(parseArgs(['publish', '1.0'], command), makeContext({ cwd: project, env }));
    fs.chmodSync(base, 0o755);
    const script = [
      'set -eu',
      `. "${path.join(REPO_ROOT, 'shim', 'envlock.sh')}"`,
      'module purge',
      'module load bb',
      'cat /etc/os-release | busybox grep ^ID=',
      'busybox sh -c \'echo "$GREETING"\'',
      'module list',
    ].join('\n');
    for (const shell of ['bash', 'sh']) {
      const r = spawnSync(shell, ['-c', script], { cwd: '/', encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: '/', ENVLOCK_MODULEPATH: env.ENVLOCK_MODULEPATH }, stdio: ['ignore', 'pipe', 'pipe'] });
      expect(r.stdout).toBe('ID=envlock-test\nhello from bb\n');
      expect(r.stderr).toContain('1) bb/1.0');
      expect(r.status).toBe(0);
    }
  });
});
