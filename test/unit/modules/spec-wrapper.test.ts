// The launch spec text and the wrapper file: escaping, quoting, the interpreter line, and a
// wrapper run with a stand-in launcher that prints the arguments it was given (what the real
// launcher does with them: test/native/wrapper.test.ts).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { PreparedEnvironment } from '../../../core/enter/prepared.js';
import { WRAPPER_ENV_PASS, wrapperSpecFor } from '../../../core/enter/wrapper-spec.js';
import { prepareModuleRuntime } from '../../../core/modules/prepare.js';
import { escapeField, renderSpec } from '../../../core/runtime/spec.js';
import { interpreterLine, shellQuote, wrapperScript } from '../../../core/modules/wrapper-script.js';

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

  it('names the launcher on its interpreter line only when the kernel can read it there', () => {
    expect(interpreterLine('/opt/envlock/lib/envlock-launch')).toBe('#!/opt/envlock/lib/envlock-launch --wrapper');
    // A blank ends the interpreter's name; a line past 127 bytes is cut by kernels before 5.1.
    expect(interpreterLine('/opt/env lock/envlock-launch')).toBe('#!/bin/sh');
    expect(interpreterLine(`/${'d'.repeat(100)}/envlock-launch`)).toBe('#!/bin/sh');
    expect(interpreterLine(`/${'d'.repeat(98)}/envlock-launch`)).toBe(`#!/${'d'.repeat(98)}/envlock-launch --wrapper`);
    expect(interpreterLine('relative/envlock-launch')).toBe('#!/bin/sh');
  });

  it('writes what the launcher reads, each value escaped as in a spec, the home binds as spec lines', () => {
    const text = wrapperScript({
      command: 'x', label: 'a/1', launcherPath: '/l', specFile: '/p/spec', candidates: ['/p/spec.1 v4', '/p/spec.2'],
      sources: ['/m/envlock.lock'], homeLines: ['bind ~/data /data rw'],
    });
    expect(text.split('\n')).toEqual([
      '#!/l --wrapper',
      `exec '/l' --wrapper "$0" "$@"`,
      '# envlock wrapper: runs `x` in module a/1. Written by envlock; do not edit.',
      'envlock-wrapper 1', 'label a/1', 'command x', 'stamp /p/spec', 'source /m/envlock.lock',
      'candidate /p/spec.1\\sv4', 'candidate /p/spec.2', 'home-set bind ~/data /data rw', '',
    ]);
  });

  it('hands the launcher its own path and "$@" exactly: from the kernel, from sh, and through /bin/sh when the launcher path has a blank', async () => {
    const dir = temp();
    const printer = '#!/bin/sh\nfor a in "$@"; do printf "[%s]" "$a"; done\necho\n';
    const plain = path.join(dir, 'launch');
    const blank = path.join(dir, "fake launch'er");
    for (const l of [plain, blank]) fs.writeFileSync(l, printer, { mode: 0o755 });
    for (const launcher of [plain, blank]) {
      const prepared = await prepareModuleRuntime({
        outDir: path.join(dir, `prep-${path.basename(launcher).length}`), label: 'a/1', spec: { rootfs: '/nonexistent' }, commands: ['tool'],
        launcherPath: launcher, sources: [], lockDigest: 'sha256:' + '0'.repeat(64),
      });
      const wrapper = path.join(prepared.wrapperDir, 'tool');
      expect(fs.readFileSync(wrapper, 'utf8').split('\n')[0]).toBe(launcher === plain ? `#!${plain} --wrapper` : '#!/bin/sh');
      const args = ['a b', '', '$(x)', '*'];
      const expected = `[--wrapper][${wrapper}][a b][][$(x)][*]\n`;
      expect(spawnSync(wrapper, args, { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } }).stdout).toBe(expected);
      expect(spawnSync('sh', [wrapper, ...args], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } }).stdout).toBe(expected);
      expect(fs.readlinkSync(path.join(path.dirname(prepared.wrapperDir), 'rootfs'))).toBe('/nonexistent');
    }
  });
});
