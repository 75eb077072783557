// `envlock run` end to end, as root and as nobody: the image's files, the caller's uid, exit
// statuses, a read-only root, binds, variables, CPU refusal, and the launcher's own failures.

import { existsSync, readFileSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { removeTempDirs } from '../../helpers/cli.js';
import { CALLERS, pulledProject, run, type RunProject } from './run-helpers.js';

const registry = inject('registry');
afterAll(() => removeTempDirs());

describe.each(CALLERS)('envlock run as $name', (caller) => {
  let project: RunProject;
  const uid = caller.asUser ? '65534' : '0';
  beforeAll(async () => {
    project = await pulledProject(caller, [
      'version: 1',
      'environments:',
      '  bb:',
      `    image: ${registry}/busybox:latest`,
      '    platforms: [linux/amd64]',
      '    env: { GREETING: "hello from the declaration" }',
      '    prepend-path: { PATH: [/opt/tools/bin] }',
      '',
    ].join('\n'));
  });

  it('prints the image\'s os-release and the caller\'s uid, and exits with the command\'s status', async () => {
    const result = await run(project, ['run', 'bb', '--', '/bin/sh', '-c', 'cat /etc/os-release; id -u; exit 7']);
    expect(result.stdout).toContain('ID=envlock-test');
    expect(result.stdout.trim().split('\n').at(-1)).toBe(uid);
    expect(result.code).toBe(7);
  });

  it('runs without NAME when there is one environment, and passes stdin through', async () => {
    const result = await run(project, ['run', 'cat'], { input: 'piped bytes\n' });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('piped bytes\n');
  });

  it('sets the declaration\'s variables, the ENVLOCK_* markers and --env overrides', async () => {
    const result = await run(project, ['run', 'bb', '--env', 'EXTRA=1', '--', 'sh', '-c', 'echo "$GREETING|$PATH|$ENVLOCK_ENV|$ENVLOCK_MICROARCH|$ENVLOCK_CFLAGS|$EXTRA|$ENVLOCK_LOCK_DIGEST"']);
    expect(result.code).toBe(0);
    const [greeting, path, name, microarch, cflags, extra, digest] = result.stdout.trim().split('|');
    expect(greeting).toBe('hello from the declaration');
    expect(path!.startsWith('/opt/tools/bin:')).toBe(true);
    expect(name).toBe('bb');
    expect(microarch).toBe('x86-64');
    expect(cflags).toContain('-march=x86-64');
    expect(extra).toBe('1');
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('keeps the root filesystem read-only, sets no_new_privs and keeps the uid', async () => {
    const result = await run(project, ['run', '--', 'sh', '-c', 'touch /bin/new 2>&1; grep NoNewPrivs /proc/self/status; id -u; echo $$']);
    expect(result.stdout).toContain('Read-only file system');
    expect(result.stdout).toMatch(/NoNewPrivs:\s+1/);
    expect(result.stdout).toContain(`\n${uid}\n`);
  });

  it('binds a host directory at a path the image lacks, read-only when asked, without touching the image', async () => {
    const host = join(project.dir, 'data');
    mkdirSync(host);
    writeFileSync(join(host, 'input.txt'), 'host data\n');
    const result = await run(project, ['run', '--bind', `${host}:/new/mount/point:ro`, '--', 'sh', '-c', 'cat /new/mount/point/input.txt; touch /new/mount/point/x 2>&1']);
    expect(result.stdout).toContain('host data');
    expect(result.stdout).toContain('Read-only file system');
    expect(readdirSync(host)).toEqual(['input.txt']);
  });

  it('refuses a bind whose source does not exist (125) and one whose target climbs out (125)', async () => {
    const missing = await run(project, ['run', '--bind', '/no/such/dir:/x', '--', 'true']);
    expect(missing.code).toBe(125);
    expect(missing.stderr).toContain('/no/such/dir');
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    const climbing = await run(project, ['run', '--bind', '/tmp:/../../etc', '--', 'true']);
    expect(climbing.code).toBe(125);
    expect(climbing.stderr).toContain('..');
  });

  it('reports a command that is not found (127) or not executable (126) with its path inside', async () => {
    const missing = await run(project, ['run', '--', '/usr/bin/no-such-tool']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain('/usr/bin/no-such-tool');
    const notExec = await run(project, ['run', '--', '/etc/os-release']);
    expect(notExec.code).toBe(126);
    expect(notExec.stderr).toContain('/etc/os-release');
  });

  it('refuses, with exit 4 and before running anything, a lock whose variant needs a CPU feature this host lacks', async () => {
    const lockPath = join(project.dir, 'envlock.lock');
    const original = readFileSync(lockPath, 'utf8');
    try {
      writeFileSync(lockPath, original.replace(/features = \[/g, 'features = ["amx-imaginary", '));
      const result = await run(project, ['run', '--', 'sh', '-c', 'echo ran']);
      expect(result.code).toBe(4);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('amx-imaginary');
      expect(result.stderr).not.toMatch(/\n\s+at /);
    } finally {
      writeFileSync(lockPath, original);
    }
  });

  it('cannot write the store from inside, even when $HOME (bound read-write) holds it', async () => {
    const store = join(project.env.HOME!, '.local', 'share', 'envlock');
    const env = { ENVLOCK_STORE: store };
    expect((await run(project, ['pull', '-q'], { env })).code).toBe(0);
    const result = await run(project, ['run', '--', 'sh', '-c', `touch ${store}/blobs/planted 2>&1; chmod -R u+w ${store}/rootfs 2>&1 | head -1; touch $HOME/fine && echo home-writable`], { env });
    expect(result.stdout).toContain('Read-only file system');
    expect(result.stdout).toContain('home-writable');
    expect(existsSync(join(store, 'blobs', 'planted'))).toBe(false);
  });

  it('refuses a stale lock with exit 3', async () => {
    const decl = join(project.dir, 'envlock.yaml');
    const original = readFileSync(decl, 'utf8');
    try {
      writeFileSync(decl, original.replace('busybox:latest', 'busybox:amd64'));
      const result = await run(project, ['run', '--', 'true']);
      expect(result.code).toBe(3);
      expect(result.stderr).toContain('envlock lock');
    } finally {
      writeFileSync(decl, original);
    }
  });
});
