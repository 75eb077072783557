// A host without Slurm's headers still builds envlock: the launcher and the addon are built,
// the SPANK plugin is skipped with one note, and `envlock slurm plugstack` says why (exit 4).
// The headers are hidden by an empty directory bound over them in a private mount namespace,
// so nothing changes for other builds on this machine.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCopyWithoutHeaders } from '../../helpers/build-copy-without-headers.js';
import { removeTempDirs } from '../../helpers/cli.js';

const HEADERS = '/usr/include/slurm';

afterAll(() => removeTempDirs());

describe.runIf(process.getuid?.() === 0 && existsSync(HEADERS))('building on a host without Slurm headers', () => {
  it('builds everything else, skips the plugin with one note, and plugstack explains', () => {
    const { pkg, cli, built } = buildCopyWithoutHeaders(HEADERS, { timeoutMs: 300_000 });
    expect(built.status, built.stderr).toBe(0);
    const release = join(pkg, 'native', 'build', 'Release');
    expect(existsSync(join(release, 'envlock-launch'))).toBe(true);
    expect(existsSync(join(release, 'envlock_native.node'))).toBe(true);
    expect(existsSync(join(release, 'envlock_spank.so'))).toBe(false);
    expect(built.stderr.match(/note: no Slurm headers/g)).toHaveLength(1);

    const plugstack = spawnSync(process.execPath, [cli, 'slurm', 'plugstack'], { encoding: 'utf8' });
    expect(plugstack.status).toBe(4);
    expect(plugstack.stdout).toBe('');
    expect(plugstack.stderr).toContain('was not built, because this host had no Slurm headers');
    expect(plugstack.stderr).toContain('libslurm-dev');
  }, 300_000);
});
