// The launch spec text and the wrapper script: escaping, quoting, and a wrapper run with a
// stand-in launcher that prints the arguments it was given.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { PreparedEnvironment } from '../../../core/enter/prepared.js';
import { WRAPPER_ENV_PASS, wrapperSpecFor } from '../../../core/enter/wrapper-spec.js';
import { prepareModuleRuntime } from '../../../core/modules/prepare.js';
import { escapeField, renderSpec } from '../../../core/runtime/spec.js';
import { shellQuote, wrapperScript } from '../../../core/modules/wrapper-script.js';

const dirs: string[] = [];
const temp = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'envlock-wrapper-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const prepared = (over: Partial<PreparedEnvironment> = {}): PreparedEnvironment => ({
  name: 'analysis',
  image: { form: 'tree', path: '/store/root fs', store: '/store', manifest: `sha256:${'a'.repeat(64)}` },
  imageEnv: ['PATH=/bin', 'LANG=C.UTF-8'],
  entrypoint: [],
  cmd: [],
  edits: { env: { A: 'x y' }, prependPath: {}, appendPath: {}, unset: [] },
  binds: [{ source: '/data', destination: '/mnt/data', readOnly: false }],
  devices: [],
  markers: { ENVLOCK_ENV: 'analysis' },
  cpuNeeds: { architecture: 'amd64', features: ['avx2', 'bmi2'] },
  protect: ['/store'],
  ...over,
});

describe('wrapper spec (the one renderer)', () => {
  it('escapes spaces, newlines, tabs and backslashes, and refuses NUL with one error naming the line', () => {
    expect(escapeField('a b\\c\nd\te\r')).toBe('a\\sb\\\\c\\nd\\te\\r');
    expect(() => renderSpec(wrapperSpecFor(prepared({ edits: { env: { A: 'x\0y' }, prependPath: {}, appendPath: {}, unset: [] } }))))
      .toThrow(expect.objectContaining({ code: 'LAUNCH_FAILED', message: expect.stringMatching(/^The env value .* contains a NUL byte/) }));
  });

  it('writes the image, no PID namespace, binds, sorted env with the markers, env-pass and no cmd', () => {
    const text = renderSpec(wrapperSpecFor(prepared(), { comments: ['module analysis/2.0'] }));
    const lines = text.split('\n');
    expect(lines.slice(0, 6)).toEqual(['envlock-launch-spec 1', '# module analysis/2.0', 'rootfs /store/root\\sfs', 'env A=x\\sy', 'env ENVLOCK_ENV=analysis', 'env PATH=/bin']);
    expect(lines.filter((l) => l.startsWith('env-pass ')).map((l) => l.slice(9))).toEqual(WRAPPER_ENV_PASS);
    expect(lines.slice(-3)).toEqual(['pid host', 'bind /data /mnt/data rw', '']);
    expect(text).not.toContain('\ncmd ');
    // The image's LANG is not baked: the caller's value is passed at run time.
    expect(text).not.toContain('LANG=C.UTF-8');
  });

  it('writes arch and cpu-needs (one comma-separated field) when asked', () => {
    expect(renderSpec(wrapperSpecFor(prepared(), { cpuNeeds: true }))).toContain('\narch amd64\ncpu-needs avx2,bmi2\n');
  });
});

describe('wrapper', () => {
  it('quotes single quotes for sh', () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });

  it('passes "$@" exactly to the launcher and refuses when the lock is newer than the spec', async () => {
    const dir = temp();
    const launcher = path.join(dir, "fake launch'er");
    fs.writeFileSync(launcher, '#!/bin/sh\nfor a in "$@"; do printf "[%s]" "$a"; done\necho\n', { mode: 0o755 });
    const lock = path.join(dir, 'envlock.lock');
    fs.writeFileSync(lock, 'lock');
    const past = new Date(Date.now() - 60_000);
    fs.utimesSync(lock, past, past);
    const prepared = await prepareModuleRuntime({
      outDir: path.join(dir, 'prep'), label: 'a/1', spec: { rootfs: '/nonexistent' }, commands: ['tool'],
      launcherPath: launcher, sources: [lock], lockDigest: 'sha256:' + '0'.repeat(64),
    });
    const wrapper = path.join(prepared.wrapperDir, 'tool');
    const r = spawnSync(wrapper, ['a b', '', '$(x)', '*'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: '/' } });
    expect(r.stdout).toBe(`[--candidate][${prepared.specFile}][--][tool][a b][][$(x)][*]\n`);
    const future = new Date(Date.now() + 60_000);
    fs.utimesSync(lock, future, future);
    const stale = spawnSync(wrapper, [], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
    expect(stale.status).toBe(125);
    expect(stale.stderr).toContain('a/1 changed since its wrappers were prepared');
    expect(fs.readlinkSync(path.join(dir, 'prep', 'rootfs'))).toBe('/nonexistent');
  });

  it('adds the home bind only for a plain existing $HOME', () => {
    const text = wrapperScript({ command: 'x', label: 'a/1', launcherPath: '/l', specFile: '/s', sources: [] });
    expect(text).toContain('--set "home $HOME"');
    expect(text.split('\n').length).toBeLessThanOrEqual(6);
  });
});
