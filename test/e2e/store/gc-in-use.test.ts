// gc never removes an image in use (issue 13.1), as root and as nobody: a job runs an image, the project is re-locked to another image and pulled, the grace period is
// over, and gc keeps the running image (saying so) while the job completes correctly; once the
// job has ended, gc removes it. A `run` that pulled implicitly registers its lockfile like pull.
// (pull makes trees here; gc's squashfs side is tested in test/unit/store/gc-leases.test.ts.)

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { makeTempDir, removeTempDirs, runCli, type CliOptions } from '../../helpers/cli.js';

const registry = inject('registry');
const images = inject('testImages');
afterAll(() => removeTempDirs());

const CALLERS = [{ name: 'root' }, { name: 'nobody', asUser: 'nobody' as const }];
const image = (store: string, hex: string) => join(store, 'rootfs', 'sha256', hex);

async function waitFor(test: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) if (test()) return true;
  return test();
}

/** Ages everything in the store by an hour, so the ten-minute grace period protects nothing. */
function age(store: string): void {
  const metas = join(store, 'rootfs', 'sha256');
  for (const name of readdirSync(metas).filter((n) => n.endsWith('.json'))) {
    const meta = JSON.parse(readFileSync(join(metas, name), 'utf8')) as { unpackedAt: string };
    writeFileSync(join(metas, name), JSON.stringify({ ...meta, unpackedAt: new Date(Date.now() - 3_600_000).toISOString() }));
  }
  // Not into the images: run checks the mtimes of a sample of their files.
  execFileSync('find', [store, '-maxdepth', '3', '-exec', 'touch', '-h', '-d', '1 hour ago', '{}', '+']);
}

function declaration(image: string): string {
  return `version: 1\nenvironments:\n  bb:\n    image: ${registry}/${image}\n    platforms: [linux/amd64]\n`;
}

describe.each(CALLERS)('gc and an image in use, as $name', ({ asUser }) => {
  function project() {
    const forUser = asUser ? { forUser: asUser } : {};
    const dir = makeTempDir('gc-in-use', forUser);
    const store = join(makeTempDir('store', forUser), 'store');
    writeFileSync(join(dir, 'envlock.yaml'), declaration('busybox:latest'));
    if (asUser) execFileSync('chown', ['-R', `${asUser}:nogroup`, dir]);
    const env = { HOME: makeTempDir('home', forUser), ENVLOCK_STORE: store };
    const cli = (args: string[], extra: Record<string, string> = {}) => runCli(args, { cwd: dir, env: { ...env, ...extra }, ...(asUser ? { asUser } : {}) } satisfies CliOptions);
    return { dir, store, cli };
  }

  it('keeps the image of a running job, which completes, and removes it once the job has ended', async () => {
    const p = project();
    expect((await p.cli(['lock'])).code).toBe(0);
    // run pulls the image itself; the job says it started, waits for "go", then reads its image.
    const script = 'touch started; while [ ! -e go ]; do sleep 0.1; done; cat /etc/os-release; ls /bin/busybox';
    const job = p.cli(['run', 'bb', '--', 'sh', '-c', script]);
    expect(await waitFor(() => existsSync(join(p.dir, 'started')), 60_000)).toBe(true);

    const running = image(p.store, images.busyboxAmd64.slice(7));
    writeFileSync(join(p.dir, 'envlock.yaml'), declaration('layered:latest'));
    expect((await p.cli(['lock'])).code).toBe(0);
    const pulled = await p.cli(['pull', '-q']);
    expect(pulled.code, pulled.stderr).toBe(0);

    age(p.store);
    const gc = await p.cli(['gc']);
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stdout).toContain(`kept rootfs ${images.busyboxAmd64}`);
    expect(gc.stdout).toContain('in use by a running job');
    expect(existsSync(running)).toBe(true);

    writeFileSync(join(p.dir, 'go'), '');
    const ended = await job;
    expect(ended.stderr).not.toContain('not found');
    expect(ended.stdout).toContain('ID=envlock-test');
    expect(ended.stdout).toContain('/bin/busybox');
    expect(ended.code).toBe(0);

    // ENVLOCK_GC_GRACE_SECONDS=0: nothing is young any more, without ageing the store again.
    const after = await p.cli(['gc', '--json'], { ENVLOCK_GC_GRACE_SECONDS: '0' });
    const result = after.json<{ result: { removed: { kind: string; digest?: string }[]; inUse: unknown[] } }>().result;
    expect(result.inUse).toEqual([]);
    expect(result.removed.map((e) => e.digest)).toContain(images.busyboxAmd64);
    expect(existsSync(running)).toBe(false);
    // The new lock's image stays and runs.
    const next = await p.cli(['run', 'bb', '--', 'true']);
    expect(next.code, next.stderr).toBe(0);
  });

  it('keeps an image that run pulled implicitly: run registers its lockfile as pull does', async () => {
    const p = project();
    expect((await p.cli(['lock'])).code).toBe(0);
    const ran = await p.cli(['run', 'bb', '--', 'true']);
    expect(ran.code, ran.stderr).toBe(0);
    age(p.store);
    const gc = await p.cli(['gc', '--json']);
    expect(gc.json<{ result: { removed: { kind: string }[] } }>().result.removed.filter((e) => e.kind !== 'tmp')).toEqual([]);
    expect(existsSync(image(p.store, images.busyboxAmd64.slice(7)))).toBe(true);
    expect((await p.cli(['run', 'bb', '--offline', '--', 'true'])).code).toBe(0);
  });
});
