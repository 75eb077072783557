// Which image form a pull uses: the flag, then ENVLOCK_IMAGE_FORMAT, then the store's
// store.toml, then auto; auto falls back to tree with the reason, and a forced squashfs that this
// host cannot mount is exit 4 with the fix.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EnvlockError } from '../../../core/errors.js';
import type { SupportProbes } from '../../../core/squashfs/host-support.js';
import { fusePart } from '../../../core/squashfs/host-support.js';
import { acceptedForms, chooseImageFormat, describeChoice, requestedFormat } from '../../../core/store/image-format.js';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'envlock-format-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const able: SupportProbes = { writer: () => ({ ok: true }), launcher: () => ({ ok: true }), fuse: () => ({ ok: true }), userns: () => ({ ok: true }) };
const noFuse: SupportProbes = { ...able, fuse: () => ({ ok: false, reason: '/dev/fuse is not accessible to this user', fix: 'An administrator must run `chmod 666 /dev/fuse`.' }) };

describe('requestedFormat', () => {
  it('takes the flag over the environment over the store setting, and auto by default', async () => {
    expect(await requestedFormat(undefined, {}, root)).toEqual({ setting: 'auto', source: 'the default' });
    fs.writeFileSync(path.join(root, 'store.toml'), 'image-format = "squashfs"\n');
    expect(await requestedFormat(undefined, {}, root)).toEqual({ setting: 'squashfs', source: path.join(root, 'store.toml') });
    expect(await requestedFormat(undefined, { ENVLOCK_IMAGE_FORMAT: 'tree' }, root)).toEqual({ setting: 'tree', source: 'ENVLOCK_IMAGE_FORMAT' });
    expect(await requestedFormat('auto', { ENVLOCK_IMAGE_FORMAT: 'tree' }, root)).toEqual({ setting: 'auto', source: '--image-format' });
  });

  it('names the bad value and where it came from', async () => {
    await expect(requestedFormat('zip', {}, root)).rejects.toMatchObject({ code: 'FLAG_VALUE', exitCode: 2, message: '--image-format is "zip", which is not an image format.' });
    await expect(requestedFormat(undefined, { ENVLOCK_IMAGE_FORMAT: 'sqfs' }, root)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('ENVLOCK_IMAGE_FORMAT is "sqfs"') });
    fs.writeFileSync(path.join(root, 'store.toml'), 'image-format = "dir"\n');
    await expect(requestedFormat(undefined, {}, root)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining(`image-format in ${path.join(root, 'store.toml')} is "dir"`) });
    fs.writeFileSync(path.join(root, 'store.toml'), 'image-format = \n');
    await expect(requestedFormat(undefined, {}, root)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('not valid TOML') });
  });
});

describe('chooseImageFormat', () => {
  it('picks squashfs under auto where the host can mount it, and tree with the reason where it cannot', async () => {
    const yes = await chooseImageFormat({ setting: 'auto', source: 'the default' }, {}, able);
    expect(yes).toMatchObject({ format: 'squashfs', reason: 'auto: this host can mount squashfs images unprivileged' });
    const no = await chooseImageFormat({ setting: 'auto', source: 'the default' }, {}, noFuse);
    expect(no.format).toBe('tree');
    expect(describeChoice(no)).toBe('tree (auto: squashfs is not possible here, since /dev/fuse is not accessible to this user). Fix: An administrator must run `chmod 666 /dev/fuse`.');
  });

  it('refuses a forced squashfs that this host cannot mount: exit 4, the reason and the fix', async () => {
    const error = await chooseImageFormat({ setting: 'squashfs', source: '--image-format' }, {}, noFuse).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EnvlockError);
    expect(error).toMatchObject({
      code: 'SQUASHFS_UNAVAILABLE',
      exitCode: 4,
      message: 'The squashfs image format is asked for by --image-format, but this host cannot use squashfs images unprivileged: /dev/fuse is not accessible to this user.',
      hint: 'An administrator must run `chmod 666 /dev/fuse`. Or pull with --image-format tree.',
    });
  });

  it('never probes the host for tree', async () => {
    const fail = () => {
      throw new Error('probed');
    };
    const choice = await chooseImageFormat({ setting: 'tree', source: 'ENVLOCK_IMAGE_FORMAT' }, {}, { writer: fail, launcher: fail, fuse: fail, userns: fail });
    expect(choice).toMatchObject({ format: 'tree', reason: 'ENVLOCK_IMAGE_FORMAT asks for tree' });
    expect(acceptedForms('auto')).toEqual(['squashfs', 'tree']);
    expect(acceptedForms('tree')).toEqual(['tree']);
  });
});

describe('fusePart', () => {
  it('tells a missing device from one this user may not open', () => {
    expect(fusePart(path.join(root, 'no-such-device'))).toMatchObject({ ok: false, reason: expect.stringContaining('does not exist'), fix: expect.stringContaining('modprobe fuse') });
    const locked = path.join(root, 'locked');
    fs.writeFileSync(locked, '');
    fs.chmodSync(locked, 0o000);
    if (process.getuid?.() !== 0) expect(fusePart(locked)).toMatchObject({ ok: false, reason: `${locked} is not accessible to this user`, fix: expect.stringContaining(`chmod 666 ${locked}`) });
    fs.chmodSync(locked, 0o666);
    expect(fusePart(locked)).toEqual({ ok: true });
  });
});
