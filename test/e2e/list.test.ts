// `envlock list` (docs reference it for `description:`): each environment with its lock and pull
// state, as a user moves from a fresh declaration to a pulled project and back to a stale lock.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { makeTempDir, removeTempDirs, runCli } from '../helpers/cli.js';

const registry = inject('registry');
afterAll(() => removeTempDirs());

interface ListJson {
  result: { environments: { name: string; lock: string; pulled: string; description: string | null; manifest: string | null }[]; staleReasons: string[] };
}

describe('envlock list', () => {
  it('follows a project from declared to locked, pulled and stale', async () => {
    const dir = makeTempDir('list');
    const store = join(makeTempDir('store'), 's');
    const yaml = (extra: string) => `version: 1\nenvironments:\n  bb:\n    image: ${registry}/busybox:latest\n    platforms: [linux/amd64]\n    description: Busybox for tests\n  other:\n    image: ${registry}/layered:latest\n${extra}`;
    writeFileSync(join(dir, 'envlock.yaml'), yaml(''));
    const cli = (args: string[]) => runCli(args, { cwd: dir, env: { ENVLOCK_STORE: store } });
    const state = async () => (await cli(['list', '--json'])).json<ListJson>().result.environments.map((e) => `${e.name}:${e.lock}:${e.pulled}`);

    expect(await state()).toEqual(['bb:missing:not-locked', 'other:missing:not-locked']);
    expect((await cli(['lock'])).code).toBe(0);
    expect(await state()).toEqual(['bb:locked:not-pulled', 'other:locked:not-pulled']);
    expect((await cli(['pull', 'bb'])).code).toBe(0);
    expect(await state()).toEqual(['bb:locked:tree', 'other:locked:not-pulled']);
    const text = await cli(['list']);
    expect(text.stdout).toMatch(/^ENVIRONMENT\s+IMAGE\s+LOCK\s+PULLED\s+DESCRIPTION\n/);
    expect(text.stdout).toMatch(/bb\s+\S+busybox:latest\s+[0-9a-f]{12}\s+pulled\s+Busybox for tests/);
    writeFileSync(join(dir, 'envlock.yaml'), yaml('    platforms: [linux/arm64]\n'));
    const stale = (await cli(['list', '--json'])).json<ListJson>().result;
    expect(stale.environments.map((e) => `${e.name}:${e.lock}`)).toEqual(['bb:locked', 'other:stale']);
    expect(stale.staleReasons.join(' ')).toContain('`other`');
    expect((await cli(['list'])).stdout).toContain('Run `envlock lock`.');
  });
});
