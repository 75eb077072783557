// export, verify, gc and store end to end: an exported layout is byte-identical to the registry's
// image, verify finds damage that pull --repair then mends, gc keeps only what lockfiles use.

import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { makeTempDir, removeTempDirs, runCli } from '../../helpers/cli.js';

const registry = inject('registry');
const images = inject('testImages');
afterAll(() => removeTempDirs());

async function project(image: string, platforms = '[linux/amd64, linux/arm64]') {
  const dir = makeTempDir('store-cmd');
  const store = join(makeTempDir('store'), 's');
  writeFileSync(join(dir, 'envlock.yaml'), `version: 1\nenvironments:\n  bb:\n    image: ${image}\n    platforms: ${platforms}\n`);
  const env = { ENVLOCK_STORE: store };
  expect((await runCli(['lock'], { cwd: dir, env })).code).toBe(0);
  return { dir, store, env };
}

describe('store commands', () => {
  it('export writes an OCI layout with the same index digest, which skopeo reads and envlock locks offline', async () => {
    const p = await project(`${registry}/busybox:latest`);
    const out = join(makeTempDir('export'), 'layout');
    const refused = await runCli(['export', 'bb', '--oci', out], { cwd: p.dir, env: p.env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('envlock pull bb --all-platforms');
    expect((await runCli(['pull', '--all-platforms'], { cwd: p.dir, env: p.env })).code).toBe(0);
    const exported = await runCli(['export', 'bb', '--oci', out, '--json'], { cwd: p.dir, env: p.env });
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.json<{ result: { digest: string } }>().result.digest).toBe(images.busybox);
    const raw = execFileSync('skopeo', ['inspect', '--raw', `oci:${out}:bb`]);
    expect(`sha256:${execFileSync('sha256sum', { input: raw }).toString().split(' ')[0]}`).toBe(images.busybox);
    const air = await project(`oci:${out}:bb`);
    const lock = execFileSync('cat', [join(air.dir, 'envlock.lock')], { encoding: 'utf8' });
    expect(lock).toContain(images.busybox);
    expect(lock).toContain(images.busyboxAmd64);
  });

  it('verify reports a damaged rootfs and blob, and pull --repair mends them', async () => {
    const p = await project(`${registry}/busybox:latest`, '[linux/amd64]');
    expect((await runCli(['pull'], { cwd: p.dir, env: p.env })).code).toBe(0);
    expect((await runCli(['verify'], { cwd: p.dir, env: p.env })).code).toBe(0);
    const rootfsDir = join(p.store, 'rootfs', 'sha256', images.busyboxAmd64.slice(7));
    chmodSync(join(rootfsDir, 'etc'), 0o755);
    writeFileSync(join(rootfsDir, 'etc', 'planted'), 'not from the image\n');
    const damaged = await runCli(['verify', '--json'], { cwd: p.dir, env: p.env });
    expect(damaged.code).toBe(1);
    const error = damaged.json<{ error: { code: string; message: string; hint: string } }>().error;
    expect(error.code).toBe('STORE_DAMAGED');
    expect(error.message).toContain('tree-mismatch');
    expect(error.hint).toContain('pull --repair');
    const repaired = await runCli(['pull', '--repair'], { cwd: p.dir, env: p.env });
    expect(repaired.code, repaired.stderr).toBe(0);
    expect((await runCli(['verify'], { cwd: p.dir, env: p.env })).code).toBe(0);
    expect(readdirSync(join(rootfsDir, 'etc'))).not.toContain('planted');
  });

  it('gc keeps what a registered lockfile uses and removes what a deleted one used', async () => {
    const p = await project(`${registry}/busybox:latest`, '[linux/amd64]');
    expect((await runCli(['pull'], { cwd: p.dir, env: p.env })).code).toBe(0);
    const kept = await runCli(['gc', '--json'], { cwd: p.dir, env: p.env });
    expect(kept.code).toBe(0);
    expect(kept.json<{ result: { removed: { kind: string; path: string }[] } }>().result.removed.map((e) => e.kind + ' ' + e.path)).toEqual([]);
    rmSync(join(p.dir, 'envlock.lock'));
    const info = await runCli(['store', '--json'], { cwd: p.dir, env: p.env });
    expect(info.json<{ result: { rootfsCount: number } }>().result.rootfsCount).toBe(1);
    // Young entries are protected for ten minutes; age them so this run can collect them.
    const rootfsMeta = join(p.store, 'rootfs', 'sha256', `${images.busyboxAmd64.slice(7)}.json`);
    const meta = JSON.parse(readFileSync(rootfsMeta, 'utf8')) as { unpackedAt: string };
    writeFileSync(rootfsMeta, JSON.stringify({ ...meta, unpackedAt: new Date(Date.now() - 3_600_000).toISOString() }));
    execFileSync('find', [p.store, '-exec', 'touch', '-h', '-d', '1 hour ago', '{}', '+']);
    const dry = await runCli(['gc', '--dry-run', '--json'], { cwd: p.dir, env: p.env });
    expect(dry.json<{ result: { removed: unknown[] } }>().result.removed.length).toBeGreaterThan(0);
    expect(readdirSync(join(p.store, 'rootfs', 'sha256')).length).toBeGreaterThan(0);
    const gone = await runCli(['gc'], { cwd: p.dir, env: p.env });
    expect(gone.code).toBe(0);
    expect(readdirSync(join(p.store, 'rootfs', 'sha256'))).toEqual([]);
  });
});
