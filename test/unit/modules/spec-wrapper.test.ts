// The launch spec text and the wrapper script: escaping, quoting, and a wrapper run with a
// stand-in launcher that prints the arguments it was given.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { escapeSpecField, moduleSpecText } from '../../../core/modules/launch-spec.js';
import { prepareModuleRuntime } from '../../../core/modules/prepare.js';
import { shellQuote, wrapperScript } from '../../../core/modules/wrapper-script.js';

const dirs: string[] = [];
const temp = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'envlock-wrapper-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe('launch spec', () => {
  it('escapes spaces, newlines, tabs and backslashes in fields', () => {
    expect(escapeSpecField('a b\\c\nd\te\r')).toBe('a\\sb\\\\c\\nd\\te\\r');
    expect(() => escapeSpecField('a\0b')).toThrow(/NUL/);
  });

  it('writes rootfs, pid host, binds, sorted env and env-pass lines with no cmd', () => {
    const text = moduleSpecText({
      rootfs: '/store/root fs',
      env: new Map([['PATH', '/bin'], ['A', 'x y']]),
      envPass: ['TERM'],
      binds: [{ source: '/data', target: '/mnt/data', readOnly: false }],
      comments: ['module analysis/2.0'],
    });
    expect(text).toBe('envlock-launch-spec 1\n# module analysis/2.0\nrootfs /store/root\\sfs\npid host\nbind /data /mnt/data rw\nenv A=x\\sy\nenv PATH=/bin\nenv-pass TERM\n');
    expect(moduleSpecText({ rootfs: '/r', env: new Map(), envPass: [], binds: [], comments: [], pid: 'private' })).toBe('envlock-launch-spec 1\nrootfs /r\n');
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
      outDir: path.join(dir, 'prep'), label: 'a/1', rootfs: '/nonexistent', env: new Map(), commands: ['tool'],
      launcherPath: launcher, sources: [lock], lockDigest: 'sha256:' + '0'.repeat(64),
    });
    const wrapper = path.join(prepared.wrapperDir, 'tool');
    const r = spawnSync(wrapper, ['a b', '', '$(x)', '*'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: '/' } });
    expect(r.stdout).toBe(`[--spec][${prepared.specFile}][--][tool][a b][][$(x)][*]\n`);
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
