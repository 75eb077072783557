// CDI end to end through the real CLI, as root and as nobody: a fake device `example.com/widget=one`
// whose spec is shaped like NVIDIA's generated ones: /dev/null bound as /dev/widget0, only the
// versioned libwidget.so.1.2.3 mounted where the image has nothing, variables, and the hooks
// update-ldcache and create-soname-symlinks (soname links), create-symlinks and chmod.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeTempDir, removeTempDirs } from '../../helpers/cli.js';
import { CALLERS, pulledProject, run, type RunProject } from '../run/run-helpers.js';
import { compileLibrary, compileProgram, DLCALL_SOURCE, hostGlibcEntries, makeReadable, publicDir, pushHostImage } from './host-fixtures.js';

const registry = inject('registry');
let fixtures: string;
let cdiDir: string;
let specFile: string;
let libwidget: string;
let libgadget: string;

/** The spec, as NVIDIA's generator writes them: spec-wide edits plus one device's own. */
function widgetSpec(library: string, gadget: string): string {
  return [
    'cdiVersion: "0.6.0"',
    'kind: example.com/widget',
    'devices:',
    '  - name: one',
    '    containerEdits:',
    '      env: [WIDGET_INDEX=0]',
    '      deviceNodes:',
    '        - path: /dev/widget0',
    '          hostPath: /dev/null',
    '          permissions: rw',
    'containerEdits:',
    '  env: [WIDGET_VENDOR=example, "WIDGET_MODE=fast and quiet"]',
    '  mounts:',
    `    - hostPath: ${library}`,
    '      containerPath: /opt/widget/lib/libwidget.so.1.2.3',
    '      options: [ro, nosuid, nodev, bind]',
    `    - hostPath: ${gadget}`,
    '      containerPath: /opt/gadget/libgadget.so.2.0.0',
    '  hooks:',
    '    - hookName: createContainer',
    '      path: /usr/bin/nvidia-cdi-hook',
    '      args: [nvidia-cdi-hook, create-symlinks, --link, "libwidget.so.1::/opt/widget/lib/libwidget.so"]',
    '    - hookName: createContainer',
    '      path: /usr/bin/nvidia-cdi-hook',
    '      args: [nvidia-cdi-hook, update-ldcache, --folder, /opt/widget/lib]',
    '    - hookName: createContainer',
    '      path: /usr/bin/nvidia-cdi-hook',
    '      args: [nvidia-cdi-hook, create-soname-symlinks, --folder, /opt/gadget]',
    '    - hookName: createContainer',
    '      path: /usr/bin/nvidia-ctk',
    '      args: [nvidia-ctk, hook, chmod, --mode, "755", --path, /dev/widget0]',
    '',
  ].join('\n');
}

beforeAll(async () => {
  fixtures = makeTempDir('host-cdi');
  const build = publicDir(fixtures, 'build');
  libwidget = compileLibrary(build, 'libwidget.so.1.2.3', 'libwidget.so.1', 'int widget_answer(void) { return 42; }\n');
  libgadget = compileLibrary(build, 'libgadget.so.2.0.0', 'libgadget.so.2', 'int gadget_answer(void) { return 7; }\n');
  const dlcall = compileProgram(build, 'dlcall', DLCALL_SOURCE);
  cdiDir = publicDir(fixtures, 'cdi');
  specFile = join(cdiDir, 'widget.yaml');
  writeFileSync(specFile, widgetSpec(libwidget, libgadget));
  makeReadable(fixtures);
  await pushHostImage(registry, 'host-e2e/glibc-cdi', hostGlibcEntries(), { dlcall });
});
afterAll(() => removeTempDirs());

const DECLARATION = (name: string): string => [
  'version: 1',
  'environments:',
  `  ${name}:`,
  `    image: ${registry}/host-e2e/glibc-cdi:latest`,
  '    platforms: [linux/amd64]',
  '    host: { devices: [example.com/widget=one] }',
  '',
].join('\n');

describe.each(CALLERS)('a CDI device through envlock run, as $name', (caller) => {
  let project: RunProject;
  let cdiEnv: Record<string, string>;
  beforeAll(async () => {
    project = await pulledProject(caller, DECLARATION('gadget'));
    cdiEnv = { ENVLOCK_CDI_DIRS: cdiDir };
  });

  it('binds the device node, mounts the library, makes the soname link and the symlink, and sets the variables', async () => {
    const script = [
      'stat -c "%F %t:%T" /dev/widget0',
      'echo data > /dev/widget0 && echo writable',
      'cmp /opt/widget/lib/libwidget.so.1.2.3 /opt/widget/lib/libwidget.so.1 && cmp /opt/widget/lib/libwidget.so.1 /opt/widget/lib/libwidget.so && echo same-file',
      'echo "vendor=$WIDGET_VENDOR index=$WIDGET_INDEX mode=$WIDGET_MODE"',
      'echo "ld=$LD_LIBRARY_PATH"',
      'touch /opt/widget/lib/x 2>&1 | grep -o "Read-only file system"',
    ].join('; ');
    const result = await run(project, ['run', 'gadget', '--', 'sh', '-c', script], { env: cdiEnv });
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    // /dev/null is character device 1:3; inside it is a bind of the host node, never a mknod.
    expect(lines[0]).toBe('character special file 1:3');
    expect(lines).toContain('writable');
    expect(lines).toContain('same-file');
    expect(lines).toContain('vendor=example index=0 mode=fast and quiet');
    // On the loader path once (update-ldcache); /opt/gadget not at all (create-soname-symlinks makes links only).
    expect(lines).toContain('ld=/opt/widget/lib');
    expect(lines).toContain('Read-only file system');
  });

  it('lets a program in the image dlopen the mounted library by soname, by link and by path', async () => {
    const script = 'dlcall libwidget.so.1 widget_answer; dlcall /opt/widget/lib/libwidget.so widget_answer; dlcall /opt/gadget/libgadget.so.2 gadget_answer; dlcall libnothere.so.9 f';
    const result = await run(project, ['run', 'gadget', '--', 'sh', '-c', script], { env: cdiEnv });
    expect(result.stdout).toContain('libwidget.so.1 widget_answer -> 42');
    expect(result.stdout).toContain('/opt/widget/lib/libwidget.so widget_answer -> 42');
    expect(result.stdout).toContain('/opt/gadget/libgadget.so.2 gadget_answer -> 7');
    // The control: a library nobody injected is not found, so the two above really came from CDI.
    expect(result.stdout).toMatch(/dlopen failed: libnothere\.so\.9: cannot open shared object file/);
    expect(result.code).toBe(3);
  });

  it('shows with --dry-run what would be injected from which spec file, and runs nothing', async () => {
    const result = await run(project, ['run', 'gadget', '--dry-run', '--', 'sh', '-c', 'echo RAN'], { env: cdiEnv });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).not.toContain('RAN\n');
    expect(result.stdout).toContain('device /dev/widget0 <- /dev/null');
    expect(result.stdout).toContain(`mount /opt/widget/lib/libwidget.so.1.2.3 <- ${libwidget} (ro,nosuid,nodev,bind)`);
    expect(result.stdout).toContain('symlink /opt/widget/lib/libwidget.so.1 -> libwidget.so.1.2.3');
    expect(result.stdout).toContain('symlink /opt/widget/lib/libwidget.so -> libwidget.so.1');
    expect(result.stdout).toContain('symlink /opt/gadget/libgadget.so.2 -> libgadget.so.2.0.0');
    expect(result.stdout).not.toContain('skipped');
    // Each note once: the chmod hook is ignored (the root is read-only), and said so a single time.
    expect(result.stdout.match(/chmod hook from .* is ignored/g)).toHaveLength(1);
    expect(result.stdout).toContain('env WIDGET_VENDOR=example');
    expect(result.stdout).toContain(`sources: ${specFile}`);
    expect(result.stdout).toMatch(/device: +\/dev\/null -> \/dev\/widget0/);
  });

  it('lists the CDI device and what the environment would receive in envlock doctor', async () => {
    const result = await run(project, ['doctor', '--json', '--offline'], { env: cdiEnv });
    const checks = result.json<{ result: { checks: { area: string; status: string; summary: string }[] } }>().result.checks;
    const cdi = checks.find((c) => c.area === 'cdi');
    expect(cdi?.status).toBe('ok');
    expect(cdi?.summary).toContain('example.com/widget=one');
    const host = checks.find((c) => c.area === 'host for gadget');
    expect(host?.status).toBe('ok');
    expect(host?.summary).toContain('device /dev/widget0 <- /dev/null');
    expect(host?.summary).toContain(`mount /opt/widget/lib/libwidget.so.1.2.3 <- ${libwidget}`);
    const text = await run(project, ['doctor', '--offline'], { env: cdiEnv });
    expect(text.stdout).toContain('example.com/widget=one');
  });

  it('refuses a device no spec defines (exit 4), naming the devices of that kind', async () => {
    const other = makeTempDir('cdi-unknown', caller.asUser ? { forUser: caller.asUser } : {});
    const result = await run(project, ['run', 'gadget', '--', 'true'], { env: { ENVLOCK_CDI_DIRS: other } });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('example.com/widget=one');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
