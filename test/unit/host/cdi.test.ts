import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../../core/errors.js';
import { translateHooks } from '../../../core/host/cdi/hooks.js';
import { cdiSpecDirs, loadCdiRegistry } from '../../../core/host/cdi/load.js';
import { resolveDevices } from '../../../core/host/cdi/resolve.js';
import { FIXTURES, caught, removeDir, tempDir } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => removeDir(dir));

/** Copies fixtures into a fresh spec directory (or a named one) and returns it. */
async function specDir(files: string[], name = 'cdi'): Promise<string> {
  const target = path.join(dir, name);
  await fs.mkdir(target, { recursive: true });
  for (const file of files) {
    const text = (await fs.readFile(path.join(FIXTURES, file), 'utf8')).replaceAll('@LIBDIR@', path.join(dir, 'lib'));
    await fs.writeFile(path.join(target, file), text);
  }
  return target;
}

describe('spec directories', () => {
  it('defaults to /etc/cdi then /var/run/cdi under the host root, then ENVLOCK_CDI_DIRS (absolute entries)', () => {
    expect(cdiSpecDirs({})).toEqual(['/etc/cdi', '/var/run/cdi']);
    expect(cdiSpecDirs({ ENVLOCK_CDI_DIRS: '/site/cdi::relative:/more/' }, '/fake')).toEqual([
      '/fake/etc/cdi',
      '/fake/var/run/cdi',
      '/site/cdi',
      '/more/',
    ]);
  });

  it('ignores missing directories and files with other extensions', async () => {
    const d = await specDir(['vendor-template.yaml']);
    await fs.writeFile(path.join(d, 'README.txt'), 'not a spec');
    const registry = await loadCdiRegistry([path.join(dir, 'missing'), d]);
    expect([...registry.devices.keys()].sort()).toEqual(['example.com/fake=fake0', 'example.com/fake=fake1']);
  });
});

describe('validation', () => {
  const cases: [string, RegExp][] = [
    ['bad-version.yaml', /bad-version\.yaml is invalid: cdiVersion: version 9\.0\.0 is not one this envlock knows/],
    ['unknown-field.json', /unknown-field\.json is invalid: devices\[0\]\.containerEdits\.deviceNodes\[0\]\.mode: unknown field/],
    ['relative-path.yaml', /relative-path\.yaml is invalid: devices\[0\]\.containerEdits\.mounts\[0\]\.hostPath: "lib\/libfoo\.so" is not an absolute path/],
    ['escaping-path.yaml', /escaping-path\.yaml is invalid: .*containerPath: "\/usr\/\.\.\/\.\.\/etc\/passwd" escapes the container root/],
    ['too-old-version.yaml', /too-old-version\.yaml is invalid: cdiVersion: .*hostPath needs cdiVersion 0\.5\.0 or newer, but the file says 0\.4\.0/],
    ['bad-kind.yaml', /bad-kind\.yaml is invalid: kind: "example\.com\/class\/extra" is not of the form vendor\.com\/class/],
  ];
  for (const [file, message] of cases) {
    it(`rejects ${file} with CDI_INVALID naming the file`, async () => {
      const d = await specDir([file]);
      const error = await caught(loadCdiRegistry([d]));
      expect(error.code).toBe('CDI_INVALID');
      expect(error.exitCode).toBe(EXIT.FAILURE);
      expect(error.message).toContain(path.join(d, file));
      expect(error.message).toMatch(message);
      expect(error.hint).toMatch(/nvidia-ctk cdi generate/);
    });
  }

  it('rejects annotations that are not a map of strings, and annotations in a pre-0.6.0 file', async () => {
    const d = await specDir([]);
    await fs.writeFile(path.join(d, 'null-annotations.json'), JSON.stringify({ cdiVersion: '0.6.0', kind: 'a.com/b', annotations: null, devices: [{ name: 'x' }] }));
    const error = await caught(loadCdiRegistry([d]));
    expect(error.message).toMatch(/null-annotations\.json is invalid: annotations: expected an object\.$/);
    await fs.rm(path.join(d, 'null-annotations.json'));
    await fs.writeFile(path.join(d, 'old.json'), JSON.stringify({ cdiVersion: '0.5.0', kind: 'a.com/b', devices: [{ name: 'x', annotations: { k: 'v' } }] }));
    const old = await caught(loadCdiRegistry([d]));
    expect(old.message).toMatch(/old\.json is invalid: cdiVersion: devices\[0\]\.annotations needs cdiVersion 0\.6\.0 or newer/);
  });

  it('rejects a YAML spec that does not parse with CDI_INVALID naming the file', async () => {
    const d = await specDir([]);
    await fs.writeFile(path.join(d, 'broken.yaml'), 'cdiVersion: "0.6.0"\nkind: [unclosed\n');
    const error = await caught(loadCdiRegistry([d]));
    expect(error.code).toBe('CDI_INVALID');
    expect(error.message).toMatch(/broken\.yaml is invalid: it does not parse/);
  });
});

describe('priority and collisions', () => {
  it('reports two files in the same directory defining one device as CDI_CONFLICT naming both', async () => {
    const d = await specDir(['collision-a.yaml', 'collision-b.json']);
    const error = await caught(loadCdiRegistry([d]));
    expect(error.code).toBe('CDI_CONFLICT');
    expect(error.message).toBe(
      `CDI device example.com/dup=gpu0 is defined by both ${path.join(d, 'collision-a.yaml')} and ${path.join(d, 'collision-b.json')}.`,
    );
  });

  it('lets the later directory win when the same device is defined in two directories', async () => {
    const low = await specDir(['collision-a.yaml'], 'etc-cdi');
    const high = await specDir(['collision-b.json'], 'run-cdi');
    const registry = await loadCdiRegistry([low, high]);
    const edits = resolveDevices(['example.com/dup=gpu0'], registry);
    expect(edits.env.map((e) => e.value)).toEqual([{ name: 'DUP_FROM', value: 'b' }]);
    expect(edits.env[0]!.origin.file).toBe(path.join(high, 'collision-b.json'));
  });
});

describe('resolveDevices', () => {
  it('merges spec-wide edits once and each requested device’s edits', async () => {
    const registry = await loadCdiRegistry([await specDir(['vendor-template.yaml'])]);
    const edits = resolveDevices(['example.com/fake=fake0'], registry);
    expect(edits.devices).toEqual(['example.com/fake=fake0']);
    expect(edits.env.map((e) => `${e.value.name}=${e.value.value}`)).toEqual(['FAKE_DRIVER=1.2.3', 'FAKE_VISIBLE_DEVICES=0']);
    expect(edits.deviceNodes.map((n) => [n.value.path, n.value.hostPath])).toEqual([['/dev/fake0', '/dev/null']]);
    expect(edits.mounts).toHaveLength(1);
    expect(edits.hooks).toHaveLength(3);
  });

  it('expands =all to every device of the kind and reports clashing edits between them', async () => {
    const registry = await loadCdiRegistry([await specDir(['vendor-template.yaml'])]);
    const error = await caught(() => resolveDevices(['example.com/fake=all'], registry));
    expect(error.code).toBe('CDI_CONFLICT');
    expect(error.message).toMatch(/FAKE_VISIBLE_DEVICES is set to "0" and to "1"/);
  });

  it('reports the same container path mapped from two host paths as CDI_CONFLICT', async () => {
    const registry = await loadCdiRegistry([await specDir(['conflicting-devices.yaml'])]);
    const error = await caught(() => resolveDevices(['example.com/clash=a', 'example.com/clash=c'], registry));
    expect(error.code).toBe('CDI_CONFLICT');
    expect(error.exitCode).toBe(EXIT.FAILURE);
    expect(error.message).toMatch(/\/dev\/clash is mapped from \/dev\/null and from \/dev\/zero \(example\.com\/clash=a in .*; example\.com\/clash=c in .*\)/);
    const env = await caught(() => resolveDevices(['example.com/clash=a', 'example.com/clash=b'], registry));
    expect(env.message).toMatch(/CLASH_MODE is set to "a" and to "b"/);
  });

  it('names the known devices of the kind when a device is unknown', async () => {
    const registry = await loadCdiRegistry([await specDir(['vendor-template.yaml'])]);
    const error = await caught(() => resolveDevices(['example.com/fake=fake2'], registry));
    expect(error.code).toBe('CDI_DEVICE_UNKNOWN');
    expect(error.exitCode).toBe(EXIT.HOST_UNSUPPORTED);
    expect(error.message).toBe(
      'CDI device example.com/fake=fake2 is unknown; kind example.com/fake has example.com/fake=fake0, example.com/fake=fake1. Did you mean `example.com/fake=fake0`?',
    );
    const noKind = await caught(() => resolveDevices(['nvidia.com/gpu=0'], registry));
    expect(noKind.message).toMatch(/no spec file in .* defines kind nvidia\.com\/gpu/);
    const unqualified = await caught(() => resolveDevices(['gpu0'], registry));
    expect(unqualified.message).toMatch(/not a fully qualified CDI device name/);
  });
});

describe('hooks', () => {
  it('translates create-symlinks, update-ldcache and chmod into plan data', async () => {
    const registry = await loadCdiRegistry([await specDir(['vendor-template.yaml'])]);
    const hooks = translateHooks(resolveDevices(['example.com/fake=fake0'], registry).hooks);
    expect(hooks.symlinks.map(({ target, link }) => ({ target, link }))).toEqual([
      { target: 'libfakedrv.so.1.2.3', link: '/usr/lib/fake/libfakedrv.so.1' },
    ]);
    expect(hooks.ldcacheFolders).toEqual(['/usr/lib/fake']);
    expect(hooks.hooksToRun).toEqual([]);
    expect(hooks.notes.join('\n')).toMatch(/chmod hook .* is ignored/);
  });

  it('refuses an unknown hook with CDI_HOOK_FORBIDDEN naming its path and file, unless hooks are allowed', async () => {
    const d = await specDir(['unknown-hook.yaml']);
    const registry = await loadCdiRegistry([d]);
    const edits = resolveDevices(['example.com/hooked=d0'], registry);
    const error = await caught(() => translateHooks(edits.hooks));
    expect(error.code).toBe('CDI_HOOK_FORBIDDEN');
    expect(error.exitCode).toBe(EXIT.HOST_UNSUPPORTED);
    expect(error.message).toContain('/opt/vendor/bin/setup-device');
    expect(error.message).toContain(path.join(d, 'unknown-hook.yaml'));
    const allowed = translateHooks(edits.hooks, { allowHooks: true });
    expect(allowed.hooksToRun.map((h) => h.hook.path)).toEqual(['/opt/vendor/bin/setup-device']);
  });

  it('applies an nvidia-ctk-shaped spec without running any hook', async () => {
    const registry = await loadCdiRegistry([await specDir(['nvidia-like.yaml'])]);
    const edits = resolveDevices(['nvidia.com/gpu=all'], registry);
    expect(edits.devices).toEqual(['nvidia.com/gpu=all']);
    expect(edits.deviceNodes.map((n) => n.value.path)).toEqual(['/dev/nvidiactl', '/dev/nvidia0']);
    const hooks = translateHooks(edits.hooks);
    expect(hooks.symlinks.map(({ target, link }) => `${link} -> ${target}`)).toEqual([
      '/usr/lib/x86_64-linux-gnu/libcuda.so -> libcuda.so.1',
      '/usr/lib/x86_64-linux-gnu/libcuda.so.1 -> libcuda.so.550.54.15',
    ]);
    expect(hooks.ldcacheFolders).toEqual(['/usr/lib/x86_64-linux-gnu']);
    expect(hooks.hooksToRun).toEqual([]);
    expect(hooks.notes).toHaveLength(2);
  });

  it('refuses a create-symlinks hook whose link escapes the container root', () => {
    const origin = { file: '/etc/cdi/x.yaml', owner: 'x.com/y=z' };
    const hook = { hookName: 'createContainer', path: '/usr/bin/nvidia-cdi-hook', args: ['nvidia-cdi-hook', 'create-symlinks', '--link=a::/../../etc/x'], env: [] };
    expect(() => translateHooks([{ value: hook, origin }])).toThrow(/not one envlock can apply itself/);
  });
});
