// gc never removes an image in use (issue 13.1), as root and as nobody: a job runs an image, the project is re-locked to another image and pulled, the grace period is
// over, and gc keeps the running image (saying so) while the job completes correctly; once the
// job has ended, gc removes it. A `run` that pulled implicitly registers its lockfile like pull.
// Both image forms (a squashfs run with ENVLOCK_WARM=0: a warm holder keeps its own lease for
// 30 s after its last client, by design), and a module wrapper's run (root).

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { makeTempDir, REPO_ROOT, removeTempDirs, runCli, type CliOptions } from '../../helpers/cli.js';

const registry = inject('registry');
const images = inject('testImages');
afterAll(() => removeTempDirs());

const CALLERS = [{ name: 'root' }, { name: 'nobody', asUser: 'nobody' as const }];
const FORMS = [
  { form: 'tree', kind: 'rootfs', image: (store: string, hex: string) => join(store, 'rootfs', 'sha256', hex) },
  { form: 'squashfs', kind: 'squashfs', image: (store: string, hex: string) => join(store, 'squashfs', 'sha256', `${hex}.sqfs`) },
];
const image = FORMS[0]!.image;

async function waitFor(test: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) if (test()) return true;
  return test();
}

/** Ages everything in the store by an hour, so the ten-minute grace period protects nothing. */
function age(store: string): void {
  const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
  for (const [form, field] of [['rootfs', 'unpackedAt'], ['squashfs', 'builtAt']] as const) {
    const metas = join(store, form, 'sha256');
    for (const name of readdirSync(metas).filter((n) => n.endsWith('.json'))) {
      const meta = JSON.parse(readFileSync(join(metas, name), 'utf8')) as Record<string, unknown>;
      if (field in meta) writeFileSync(join(metas, name), JSON.stringify({ ...meta, [field]: hourAgo }));
    }
  }
  // Not into the images: run checks the mtimes of a sample of their files.
  execFileSync('find', [store, '-maxdepth', '3', '-exec', 'touch', '-h', '-d', '1 hour ago', '{}', '+']);
}

function declaration(image: string): string {
  return `version: 1\nenvironments:\n  bb:\n    image: ${registry}/${image}\n    platforms: [linux/amd64]\n`;
}

describe.each(CALLERS.flatMap((c) => FORMS.map((f) => ({ ...c, ...f }))))('gc and an image in use ($form), as $name', ({ asUser, form, kind, image }) => {
  function project() {
    const forUser = asUser ? { forUser: asUser } : {};
    const dir = makeTempDir('gc-in-use', forUser);
    const store = join(makeTempDir('store', forUser), 'store');
    writeFileSync(join(dir, 'envlock.yaml'), declaration('busybox:latest'));
    if (asUser) execFileSync('chown', ['-R', `${asUser}:nogroup`, dir]);
    const env = { HOME: makeTempDir('home', forUser), ENVLOCK_STORE: store, ENVLOCK_IMAGE_FORMAT: form, ENVLOCK_WARM: '0' };
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
    expect(gc.stdout).toContain(`kept ${kind} ${images.busyboxAmd64}`);
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
    // A repeated run (answered from the prepared-run cache) holds its lease too.
    const job = p.cli(['run', 'bb', '--', 'sh', '-c', 'touch started; while [ ! -e go ]; do sleep 0.1; done']);
    expect(await waitFor(() => existsSync(join(p.dir, 'started')), 60_000)).toBe(true);
    expect(readdirSync(join(p.store, 'leases')).map((n) => n.split('.')[0])).toEqual([images.busyboxAmd64.replace(':', '-')]);
    writeFileSync(join(p.dir, 'go'), '');
    expect((await job).code).toBe(0);
    expect(readdirSync(join(p.store, 'leases'))).toEqual([]);
  });
});

describe('gc and a module wrapper in use, as root', () => {
  it('keeps the image while a wrapper runs in it, and removes it after', async () => {
    const base = makeTempDir('gc-module');
    const project = join(base, 'project');
    execFileSync('mkdir', [project]);
    writeFileSync(join(project, 'envlock.yaml'), `${declaration('busybox:latest')}    commands: [busybox]\n`);
    const store = join(base, 'store');
    const env = { HOME: base, ENVLOCK_STORE: store, ENVLOCK_MODULEPATH: join(base, 'tree'), ENVLOCK_IMAGE_FORMAT: 'tree' };
    expect((await runCli(['lock'], { cwd: project, env })).code).toBe(0);
    const published = await runCli(['module', 'publish', '1.0'], { cwd: project, env });
    expect(published.code, published.stderr).toBe(0);
    const script = [
      `. "${join(REPO_ROOT, 'shim', 'envlock.sh')}"`,
      'module load bb',
      `busybox sh -c 'touch ${base}/started; while [ ! -e ${base}/go ]; do sleep 0.1; done; cat /etc/os-release'`,
    ].join('\n');
    const job = spawn('sh', ['-c', script], { cwd: '/', env: { PATH: '/usr/bin:/bin', HOME: base, ENVLOCK_MODULEPATH: env.ENVLOCK_MODULEPATH }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    job.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const ended = new Promise<number | null>((resolve) => job.on('close', resolve));
    expect(await waitFor(() => existsSync(join(base, 'started')), 60_000)).toBe(true);
    // Nothing registered any more: only the wrapper's lease keeps the image.
    execFileSync('sh', ['-c', `rm -f ${store}/lockfiles/*.json`]);
    age(store);
    const gc = await runCli(['gc'], { cwd: project, env });
    expect(gc.stdout).toContain(`kept rootfs ${images.busyboxAmd64}`);
    writeFileSync(join(base, 'go'), '');
    expect(await ended).toBe(0);
    expect(out).toContain('ID=envlock-test');
    const after = await runCli(['gc'], { cwd: project, env });
    expect(after.stdout).toContain(`removed rootfs ${images.busyboxAmd64}`);
    expect(readdirSync(join(store, 'leases'))).toEqual([]);
  });
});
