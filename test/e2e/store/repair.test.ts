// Issue 13.3, repair really repairs, as root and as nobody: `pull --repair` leaves every blob the
// image uses present and verified (it used to delete a damaged layer of an intact image and never
// fetch it again, so export failed); `verify` re-hashes the manifest too (a truncated one was
// "3 checked, 0 damaged"); `run` refuses a tree whose sampled files changed since pull, even
// from the prepared-run cache, and `verify` names the changed file, not only the rootfs.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { makeTempDir, removeTempDirs, runCli } from '../../helpers/cli.js';

const registry = inject('registry');
const images = inject('testImages');
afterAll(() => removeTempDirs());

const CALLERS = [{ name: 'root' }, { name: 'nobody', asUser: 'nobody' as const }];

interface ErrorOut { error: { code: string; message: string; hint: string } }
interface VerifyOut { result: { checked: number } }

const sha256Of = (file: string) => `sha256:${createHash('sha256').update(readFileSync(file)).digest('hex')}`;

describe.each(CALLERS)('repair, verify and run after damage, as $name', (caller) => {
  const forUser = caller.asUser ? { forUser: caller.asUser } : {};
  const as = caller.asUser ? { asUser: caller.asUser } : {};

  /** A pulled busybox project (one manifest, one layer) with its own HOME and store. */
  async function pulled() {
    const dir = makeTempDir('repair', forUser);
    const store = join(makeTempDir('store', forUser), 's');
    const env = { ENVLOCK_STORE: store, HOME: makeTempDir('home', forUser) };
    execFileSync('sh', ['-c', `printf 'version: 1\\nenvironments:\\n  bb:\\n    image: %s\\n    platforms: [linux/amd64]\\n' "$1" > "$2/envlock.yaml"`, 'sh', `${registry}/busybox:amd64`, dir]);
    if (caller.asUser) execFileSync('chown', ['-R', 'nobody:nogroup', dir]);
    const cli = (args: string[]) => runCli(args, { cwd: dir, env, ...as });
    expect((await cli(['lock'])).code).toBe(0);
    const pull = await cli(['pull']);
    expect(pull.code, pull.stderr).toBe(0);
    const lock = readFileSync(join(dir, 'envlock.lock'), 'utf8');
    const layer = /layers = \[\s*\{[^}]*digest = "(sha256:[a-f0-9]{64})"/.exec(lock)![1]!;
    const blob = (digest: string) => join(store, 'blobs', 'sha256', digest.slice(7));
    const rootfs = join(store, 'rootfs', 'sha256', images.busyboxAmd64.slice(7));
    return { dir, store, cli, layer, blob, rootfs };
  }

  /** Damage as a disk or a careless hand does it: the file made writable, then cut in half. */
  function truncateHalf(file: string): void {
    chmodSync(file, 0o644);
    truncateSync(file, Math.floor(statSync(file).size / 2));
  }

  it('pull --repair fetches again a damaged layer blob of an intact image, so verify and export pass', async () => {
    const p = await pulled();
    truncateHalf(p.blob(p.layer));
    expect((await p.cli(['verify'])).code).toBe(1);
    const repaired = await p.cli(['pull', '--repair']);
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(existsSync(p.blob(p.layer))).toBe(true);
    expect(sha256Of(p.blob(p.layer))).toBe(p.layer);
    expect((await p.cli(['verify'])).code).toBe(0);
    const out = join(makeTempDir('export', forUser), 'layout');
    const exported = await p.cli(['--offline', 'export', 'bb', '--oci', out]);
    expect(exported.code, exported.stderr).toBe(0);
  });

  it('verify re-hashes the manifest: a truncated manifest blob is damage, and pull --repair restores it', async () => {
    const p = await pulled();
    const clean = await p.cli(['verify', '--json']);
    expect(clean.code).toBe(0);
    // rootfs, manifest, config, layer
    expect(clean.json<VerifyOut>().result.checked).toBe(4);
    truncateHalf(p.blob(images.busyboxAmd64));
    const damaged = await p.cli(['verify', '--json']);
    expect(damaged.code).toBe(1);
    const { error } = damaged.json<ErrorOut>();
    expect(error.code).toBe('STORE_DAMAGED');
    expect(error.message).toContain(`blob ${images.busyboxAmd64.slice(7, 19)}`);
    expect(error.message).toContain('digest-mismatch');
    expect((await p.cli(['pull', '--repair'])).code).toBe(0);
    expect(sha256Of(p.blob(images.busyboxAmd64))).toBe(images.busyboxAmd64);
    expect((await p.cli(['verify'])).code).toBe(0);
  });

  it('run refuses a tree whose files changed after pull, also from its cache; verify names the file; repair mends it', async () => {
    const p = await pulled();
    expect((await p.cli(['run', '--', 'true'])).code).toBe(0);
    const busybox = join(p.rootfs, 'bin', 'busybox');
    const size = statSync(busybox).size;
    chmodSync(busybox, 0o755);
    execFileSync('sh', ['-c', 'printf x >> "$1"', 'sh', busybox]);
    chmodSync(busybox, 0o555);

    const refused = await p.cli(['run', '--json', '--', 'echo', 'ran']);
    expect(refused.stdout).not.toContain('ran');
    expect(refused.code).toBe(1);
    const { error } = refused.json<ErrorOut>();
    expect(error.code).toBe('STORE_DAMAGED');
    expect(error.message).toBe(`The image ${p.rootfs} was changed after it was pulled: /bin/busybox is ${size + 1} bytes, but was ${size} when pulled.`);
    expect(error.hint).toBe('Run `envlock verify` to see what changed, then `envlock pull --repair` to build it again.');
    // Pull does not call it up to date either.
    expect((await p.cli(['pull'])).code).toBe(1);

    const verified = await p.cli(['verify', '--json']);
    expect(verified.code).toBe(1);
    expect(verified.json<ErrorOut>().error.message).toMatch(/tree-mismatch \([^)]*\); changed: \/?bin\/busybox/);

    const repaired = await p.cli(['pull', '--repair']);
    expect(repaired.code, repaired.stderr).toBe(0);
    const ran = await p.cli(['run', '--', 'echo', 'ran']);
    expect(ran.stdout).toBe('ran\n');
    expect(statSync(busybox).size).toBe(size);
  });
});
