// `envlock doctor` explains this host, a host where user namespaces are off, the host's CDI
// devices, and whether each locked environment can run here.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { CLI_PATH, makeTempDir, removeTempDirs, runCli } from './../helpers/cli.js';

const registry = inject('registry');
afterAll(() => removeTempDirs());

interface DoctorJson {
  ok: boolean;
  result: { ok: boolean; checks: { area: string; status: string; summary: string; fix?: string }[] };
}

async function lockedProject(): Promise<string> {
  const dir = makeTempDir('doctor');
  writeFileSync(join(dir, 'envlock.yaml'), `version: 1\nenvironments:\n  bb:\n    image: ${registry}/busybox:latest\n    platforms: [linux/amd64]\n`);
  expect((await runCli(['lock'], { cwd: dir })).code).toBe(0);
  return dir;
}

describe('envlock doctor', () => {
  it('explains this host: namespaces work, the CPU level, the store, each environment runs, the registry answers', async () => {
    const dir = await lockedProject();
    const cdi = makeTempDir('cdi');
    writeFileSync(join(cdi, 'fake.yaml'), 'cdiVersion: "0.6.0"\nkind: example.com/widget\ndevices:\n  - name: one\n    containerEdits:\n      deviceNodes:\n        - path: /dev/widget0\n          hostPath: /dev/null\n');
    const result = await runCli(['doctor', '--json'], { cwd: dir, env: { ENVLOCK_CDI_DIRS: cdi } });
    expect(result.code).toBe(0);
    const checks = result.json<DoctorJson>().result.checks;
    const find = (area: string) => checks.find((c) => c.area === area)!;
    expect(find('user namespaces').status).toBe('ok');
    expect(find('cpu').summary).toMatch(/level x86-64(-v\d)?/);
    expect(find('env bb').status).toBe('ok');
    expect(find(`registry ${registry}`).status).toBe('ok');
    expect(find('cdi').summary).toContain('example.com/widget=one');
  });

  it('explains a host where user namespaces are off, with the setting an administrator must change', () => {
    const dir = makeTempDir('doctor-off');
    let status = 0;
    let stdout = '';
    try {
      execFileSync('unshare', ['-U', '--map-root-user', 'sh', '-c', 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"', 'sh', process.execPath, CLI_PATH, 'doctor'], { cwd: dir, env: { ...process.env, NO_COLOR: '1', HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      status = (error as { status: number }).status;
      stdout = (error as { stdout: Buffer }).stdout.toString();
    }
    expect(status).toBe(1);
    expect(stdout).toMatch(/FAIL\s+user namespaces/);
    expect(stdout).toContain('user.max_user_namespaces');
    expect(stdout).toContain('administrator');
  });

  it('says which environment cannot run on this CPU and why', async () => {
    const dir = await lockedProject();
    const lock = join(dir, 'envlock.lock');
    writeFileSync(lock, readFileSync(lock, 'utf8').replace(/features = \[/g, 'features = ["amx-imaginary", '));
    const result = await runCli(['doctor', '--json', '--offline'], { cwd: dir });
    expect(result.code).toBe(1);
    const env = result.json<DoctorJson>().result.checks.find((c) => c.area === 'env bb')!;
    expect(env.status).toBe('fail');
    expect(env.summary).toContain('amx-imaginary');
  });

  // A failing check used to answer "ok": true while exiting 1.
  it('answers ok:false with the checks and a CHECK_FAILED error when a check fails, and says so in text too', async () => {
    const dir = await lockedProject();
    const lock = join(dir, 'envlock.lock');
    writeFileSync(lock, readFileSync(lock, 'utf8').replace(/features = \[/g, 'features = ["amx-imaginary", '));
    const result = await runCli(['doctor', '--json', '--offline'], { cwd: dir });
    expect(result.code).toBe(1);
    const doc = result.json<{ ok: boolean; result: DoctorJson['result']; error: { code: string; message: string; exitCode: number } }>();
    expect(doc.ok).toBe(false);
    expect(doc.error).toMatchObject({ code: 'CHECK_FAILED', exitCode: 1 });
    expect(doc.error.message).toContain('env bb');
    expect(doc.result.checks.length).toBeGreaterThan(3);
    const text = await runCli(['doctor', '--offline'], { cwd: dir });
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('FAIL');
    expect(text.stderr).toMatch(/^error: \d+ of \d+ checks failed: .*env bb/m);
  });

  it('reports a malformed CDI spec by file name', async () => {
    const dir = await lockedProject();
    const cdi = makeTempDir('cdi-bad');
    mkdirSync(join(cdi, 'sub'));
    writeFileSync(join(cdi, 'broken.json'), '{"cdiVersion": "9.9.9", "kind": "example.com/x", "devices": []}');
    const result = await runCli(['doctor', '--json', '--offline'], { cwd: dir, env: { ENVLOCK_CDI_DIRS: cdi } });
    const check = result.json<DoctorJson>().result.checks.find((c) => c.area === 'cdi')!;
    expect(check.status).toBe('fail');
    expect(check.summary).toContain('broken.json');
  });
});
