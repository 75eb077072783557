// Issue 12.1, pull side: a lock cannot plant layers under a genuine manifest digest. A lock
// edited to keep image A's manifest digest with image B's config and layers used to pull B into
// the store under A's digest, and an honest project locking A then ran B. Now what is unpacked
// comes from the manifest's verified bytes; a lock that disagrees is refused naming both, from a
// registry and from an `oci:` layout alike; and an entry planted by an older envlock (in a
// read-only site store, or in your own store) is never taken for A. As root and as nobody.

import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { busyboxEntries } from '../../helpers/busybox-layer.js';
import { buildImage, pushImage, type BuiltImage } from '../../helpers/image-builder.js';
import { makeTempDir, removeTempDirs, runCli } from '../../helpers/cli.js';
import { tarEntries } from '../../helpers/tar-writer.js';
import { lockedProject } from './pull-helpers.js';

const registry = inject('registry');
const CALLERS = [{ name: 'root' }, { name: 'nobody', asUser: 'nobody' as const }];

let imageA: BuiltImage;
let imageB: BuiltImage;
let layout: string;

/** busybox plus /etc/which naming the image, so a run shows which image it entered. */
function markedImage(name: string): BuiltImage {
  const layer = tarEntries([...busyboxEntries(), { path: 'etc/which', type: 'file', mode: 0o644, content: Buffer.from(`${name}\n`) }]);
  return buildImage({ layers: [layer], platform: { os: 'linux', architecture: 'amd64' }, createdBy: `lock-manifest-${name}` });
}

beforeAll(async () => {
  imageA = markedImage('A');
  imageB = markedImage('B');
  // One repository holds both, so every blob of the edited lock can be fetched from it.
  await pushImage(registry, 'lockmanifest', 'a', imageA);
  await pushImage(registry, 'lockmanifest', 'b', imageB);
  layout = makeTempDir('layout');
  for (const tag of ['a', 'b']) {
    execFileSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${registry}/lockmanifest:${tag}`, `oci:${layout}:${tag}`]);
  }
  execFileSync('chmod', ['-R', 'a+rX', layout]);
  chmodSync(layout, 0o755);
});
afterAll(() => removeTempDirs());

const hexOf = (digest: string) => digest.slice('sha256:'.length);
const manifestLine = (dir: string) => readFileSync(join(dir, 'envlock.lock'), 'utf8').split('\n').find((l) => l.startsWith('manifest = '))!;

/** B's lock with A's manifest line: A's genuine digest, B's config and layers. */
function plantALine(hostile: string, honest: string): void {
  const file = join(hostile, 'envlock.lock');
  const text = readFileSync(file, 'utf8');
  const edited = text.replace(manifestLine(hostile), manifestLine(honest));
  expect(edited).not.toBe(text);
  writeFileSync(file, edited);
}

/** What an older envlock left in `store` after pulling the edited lock: B's tree under A's digest. */
function plantBUnderA(store: string): void {
  const dir = join(store, 'rootfs', 'sha256');
  const [a, b] = [hexOf(imageA.digest), hexOf(imageB.digest)];
  renameSync(join(dir, b), join(dir, a));
  renameSync(join(dir, `${b}.tree.gz`), join(dir, `${a}.tree.gz`));
  const meta = readFileSync(join(dir, `${b}.json`), 'utf8');
  writeFileSync(join(dir, `${a}.json`), meta.replace(imageB.digest, imageA.digest));
  execFileSync('rm', ['-f', join(dir, `${b}.json`)]);
}

interface ErrorOut { error: { code: string; message: string; hint: string } }
interface PullOut { result: { environments: { rootfs: string; unpacked: boolean }[] } }

describe.each(CALLERS)('a lock that disagrees with its manifest, as $name', (caller) => {
  const forUser = caller.asUser ? { forUser: caller.asUser } : {};
  const as = caller.asUser ? { asUser: caller.asUser } : {};
  const freshStore = () => join(makeTempDir('store', forUser), 's');
  const cli = (dir: string, args: string[], env: Record<string, string>) => runCli(args, { cwd: dir, env, ...as });

  it.each([
    { source: 'a registry', ref: (tag: string) => `${registry}/lockmanifest:${tag}`, flags: [] as string[] },
    { source: 'an oci: layout', ref: (tag: string) => `oci:${layout}:${tag}`, flags: ['--offline'] },
  ])('is refused from $source naming both, nothing lands under the manifest digest, and the honest lock then runs its own image', async ({ ref, flags }) => {
    const store = freshStore();
    const env = { ENVLOCK_STORE: store };
    const honest = await lockedProject(ref('a'), forUser);
    const hostile = await lockedProject(ref('b'), forUser);
    plantALine(hostile, honest);

    const refused = await cli(hostile, [...flags, 'pull', '--json'], env);
    expect(refused.code).toBe(1);
    const { error } = refused.json<ErrorOut>();
    expect(error.code).toBe('LOCK_MANIFEST_MISMATCH');
    expect(error.message).toContain(`the manifest ${imageA.digest}`);
    expect(error.message).toContain(`the lock lists the config ${imageB.configDescriptor.digest}`);
    expect(error.message).toContain(`where the manifest has ${imageA.configDescriptor.digest}`);
    expect(error.message.split('\n')).toHaveLength(1);
    expect(error.hint).toContain('envlock lock');
    const a = hexOf(imageA.digest);
    expect(existsSync(join(store, 'rootfs', 'sha256', a))).toBe(false);
    expect(existsSync(join(store, 'rootfs', 'sha256', `${a}.json`))).toBe(false);
    // run pulls what is missing by itself (online; a layout needs no network): the same refusal.
    const ran = await cli(hostile, ['run', '--', 'cat', '/etc/which'], env);
    expect(ran.stdout).not.toContain('B');
    expect(ran.code).toBe(1);
    expect(ran.stderr).toContain('does not match the manifest');

    expect((await cli(honest, [...flags, 'pull'], env)).code).toBe(0);
    const honestRun = await cli(honest, ['--offline', 'run', '--', 'cat', '/etc/which'], env);
    expect(honestRun.stderr).toBe('');
    expect(honestRun.stdout).toBe('A\n');
  });

  it('passes over B planted under A in a read-only site store: pull builds A in your own store, and A runs', async () => {
    // The site store as an older envlock left it after pulling the edited lock, owned by root.
    const site = join(makeTempDir('site'), 'ro');
    const filler = await lockedProject(`${registry}/lockmanifest:b`);
    expect((await runCli(['pull'], { cwd: filler, env: { ENVLOCK_STORE: site } })).code).toBe(0);
    plantBUnderA(site);
    execFileSync('chmod', ['-R', 'go-w', site]);
    chmodSync(join(site, '..'), 0o755);

    const honest = await lockedProject(`${registry}/lockmanifest:a`, forUser);
    const store = freshStore();
    const env = { ENVLOCK_STORE: store, ENVLOCK_STORE_RO: site };
    const pulled = await cli(honest, ['pull', '--json'], env);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(pulled.stderr).toContain(`Not using ${join(site, 'rootfs', 'sha256', hexOf(imageA.digest))}`);
    const rootfs = pulled.json<PullOut>().result.environments[0]!.rootfs;
    expect(rootfs.startsWith(`${store}/`)).toBe(true);
    const ran = await cli(honest, ['--offline', 'run', '--', 'cat', '/etc/which'], env);
    expect(ran.stdout).toBe('A\n');
  });

  it('refuses B planted under A in your own store until `pull --repair`, which builds A again', async () => {
    const store = freshStore();
    const env = { ENVLOCK_STORE: store };
    const filler = await lockedProject(`${registry}/lockmanifest:b`, forUser);
    expect((await cli(filler, ['pull'], env)).code).toBe(0);
    plantBUnderA(store);

    const honest = await lockedProject(`${registry}/lockmanifest:a`, forUser);
    const refused = await cli(honest, ['pull', '--json'], env);
    expect(refused.code).toBe(1);
    const { error } = refused.json<ErrorOut>();
    expect(error.code).toBe('STORE_DAMAGED');
    expect(error.message).toContain(`it was built with config ${imageB.configDescriptor.digest}`);
    expect(error.hint).toBe('Run `envlock pull --repair` to build it again from the locked layers.');

    const repaired = await cli(honest, ['pull', '--repair'], env);
    expect(repaired.code, repaired.stderr).toBe(0);
    const ran = await cli(honest, ['--offline', 'run', '--', 'cat', '/etc/which'], env);
    expect(ran.stdout).toBe('A\n');
    expect(readdirSync(join(store, 'rootfs', 'sha256'))).toContain(hexOf(imageA.digest));
  });
});
