// Hostile layers through the real `envlock pull`, as root and as nobody, into a tree and into a
// squashfs image: a path that climbs out is refused with LAYER_UNSAFE_PATH and leaves no image, a
// symlink planted to write through lands inside the image, and in both cases nothing outside the
// store changes. (test/unit/unpack/ covers every case, through both destinations.)

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { buildImage, pushImage } from '../../helpers/image-builder.js';
import { busyboxEntries } from '../../helpers/busybox-layer.js';
import { tarEntries } from '../../helpers/tar-writer.js';
import { makeTempDir, removeTempDirs, runCli } from '../../helpers/cli.js';
import { lockedProject } from './pull-helpers.js';

const registry = inject('registry');
afterAll(() => removeTempDirs());

const CALLERS = [{ name: 'root' }, { name: 'nobody', asUser: 'nobody' as const }];
const WAYS = CALLERS.flatMap((caller) => (['tree', 'squashfs'] as const).map((format) => ({ ...caller, format })));
const listing = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

/** A directory outside everything envlock owns, with a canary, that must never change. */
function outside(): { dir: string; snapshot: () => string[] } {
  const dir = makeTempDir('outside');
  chmodSync(dir, 0o777);
  writeFileSync(join(dir, 'canary'), 'unchanged\n');
  return { dir, snapshot: () => readdirSync(dir).sort() };
}

describe.each(WAYS)('hostile layers through envlock pull into a $format, as $name', (caller) => {
  const as = caller.asUser ? { asUser: caller.asUser } : {};
  const env = (store: string) => ({ ENVLOCK_STORE: store, ENVLOCK_IMAGE_FORMAT: caller.format });
  const tag = `${caller.format}-${caller.name}`;
  const forUser = caller.asUser ? { forUser: caller.asUser } : {};

  it('refuses a path that climbs out of the rootfs (Zip Slip) and writes nothing outside', async () => {
    const target = outside();
    const depth = '../'.repeat(12);
    const layer = tarEntries([...busyboxEntries(), { path: `${depth}${target.dir.slice(1)}/escaped`, type: 'file', content: 'pwned\n' }]);
    const image = buildImage({ layers: [layer], platform: { os: 'linux', architecture: 'amd64' }, createdBy: `slip-${tag}-${Date.now()}` });
    await pushImage(registry, `hostile/slip-${tag}`, 'latest', image);
    const dir = await lockedProject(`${registry}/hostile/slip-${tag}:latest`, forUser);
    const store = join(makeTempDir('store', forUser), 's');
    const result = await runCli(['pull', '--json'], { cwd: dir, env: env(store), ...as });
    expect(result.code).toBe(1);
    expect(result.json<{ error: { code: string } }>().error.code).toBe('LAYER_UNSAFE_PATH');
    expect(target.snapshot()).toEqual(['canary']);
    // No image of either form, and no half-built one left in tmp/.
    expect(listing(join(store, 'rootfs', 'sha256'))).toEqual([]);
    expect(listing(join(store, 'squashfs', 'sha256'))).toEqual([]);
    expect(listing(join(store, 'tmp')).filter((n) => /^(rootfs|squashfs)-/.test(n))).toEqual([]);
  });

  it('keeps a write through a planted absolute symlink inside the rootfs (CVE-2021-32803-style)', async () => {
    const target = outside();
    const layer1 = tarEntries([...busyboxEntries(), { path: 'link', type: 'symlink', linkTarget: target.dir }]);
    const layer2 = tarEntries([{ path: 'link/planted', type: 'file', content: 'through the link\n' }]);
    const image = buildImage({ layers: [layer1, layer2], platform: { os: 'linux', architecture: 'amd64' }, createdBy: `link-${tag}-${Date.now()}` });
    await pushImage(registry, `hostile/link-${tag}`, 'latest', image);
    const dir = await lockedProject(`${registry}/hostile/link-${tag}:latest`, forUser);
    const store = join(makeTempDir('store', forUser), 's');
    mkdirSync(store, { recursive: true });
    if (caller.asUser) chmodSync(store, 0o777);
    const result = await runCli(['pull', '--json'], { cwd: dir, env: env(store), ...as });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(target.snapshot()).toEqual(['canary']);
    const pulled = result.json<{ result: { environments: { rootfs: string; form: string }[] } }>().result.environments[0]!;
    expect(pulled.form).toBe(caller.format);
    // The symlink is stored exactly as written, and the file landed under the image's own path.
    if (caller.format === 'tree') expect(existsSync(join(pulled.rootfs, target.dir, 'planted'))).toBe(true);
    else expect(execFileSync('unsquashfs', ['-l', '-d', '', pulled.rootfs], { encoding: 'utf8' }).split('\n')).toContain(`${target.dir}/planted`);
  });
});
