// A host without squashfuse: envlock built there (the squashfuse headers hidden by an empty
// directory bound over them in a private mount namespace, so no other build on this machine is
// touched) has a launcher that cannot mount squashfs images. As root and as nobody, a forced
// squashfs pull then fails with the fix (exit 4) before fetching anything, and auto pulls a tree
// and says why in --verbose and doctor.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildCopyWithoutHeaders } from '../../helpers/build-copy-without-headers.js';
import { makeTempDir, removeTempDirs, runCli } from '../../helpers/cli.js';
import { lockedProject } from './pull-helpers.js';

const registry = inject('registry');
let cli: string;

beforeAll(() => {
  const copy = buildCopyWithoutHeaders('/usr/include/squashfuse', { timeoutMs: 600_000 });
  expect(copy.built.status, copy.built.stderr).toBe(0);
  // The build says once what it left out.
  expect(copy.built.stderr.match(/note: built without squashfs mounting in the launcher \(libsquashfuse-dev, libfuse3-dev\)/g)).toHaveLength(1);
  cli = copy.cli;
}, 660_000);
afterAll(() => removeTempDirs());

const CALLERS = [{ name: 'root' }, { name: 'nobody', asUser: 'nobody' as const }];
const listing = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);

describe.each(CALLERS)('envlock built without squashfuse, as $name', (caller) => {
  it('refuses a forced squashfs with the fix (exit 4) before fetching; auto pulls a tree and says why in --verbose and doctor', async () => {
    const forUser = caller.asUser ? { forUser: caller.asUser } : {};
    const dir = await lockedProject(`${registry}/busybox:amd64`, forUser);
    const store = join(makeTempDir('store', forUser), 's');
    const home = makeTempDir('home', forUser);
    const run = (args: string[], env: Record<string, string | undefined> = {}) =>
      runCli(args, { cwd: dir, entry: cli, env: { HOME: home, ENVLOCK_STORE: store, ...env }, ...(caller.asUser ? { asUser: caller.asUser } : {}) });
    const reason = 'the launcher was built without squashfs support (squashfuse is missing';
    const fix = 'apt-get install libsquashfuse-dev libfuse3-dev';

    const forced = await run(['pull', '--image-format', 'squashfs']);
    expect(forced.code, forced.stderr).toBe(4);
    expect(forced.stderr).toContain(reason);
    expect(forced.stderr).toContain(fix);
    expect(listing(join(store, 'blobs', 'sha256'))).toEqual([]);

    const auto = await run(['pull', '--verbose', '--json'], { ENVLOCK_IMAGE_FORMAT: undefined });
    expect(auto.code, auto.stderr).toBe(0);
    expect(auto.stderr).toContain(`Image format: tree (auto: squashfs is not possible here, since ${reason}`);
    expect(auto.json<{ result: { environments: { form: string }[] } }>().result.environments[0]!.form).toBe('tree');
    expect(listing(join(store, 'squashfs', 'sha256'))).toEqual([]);

    const doctor = await run(['doctor'], { ENVLOCK_IMAGE_FORMAT: undefined });
    const line = doctor.stdout.split('\n').find((l) => l.includes('image format')) ?? '';
    expect(line).toMatch(/^WARN/);
    expect(line).toContain(reason);
    expect(line).toContain(fix);
  }, 180_000);
});
