// The ABI check through the real CLI, as root and as nobody: a host library built against this
// host's glibc with a GLIBC_2.34 symbol is refused (exit 4, before anything runs) in an image
// whose libc.so.6 is a glibc 2.17 stand-in, and loads in an image carrying this host's glibc.

import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeTempDir, removeTempDirs } from '../../helpers/cli.js';
import { CALLERS, pulledProject, run, type RunProject } from '../run/run-helpers.js';
import { compileLibrary, compileProgram, DLCALL_SOURCE, hostGlibcEntries, makeReadable, neededVersions, oldGlibcEntries, publicDir, pushHostImage } from './host-fixtures.js';

const registry = inject('registry');
let libnew: string;
let libold: string;
let cdiDir: string;

/** pthread_create and pthread_join moved into libc in glibc 2.34 and carry GLIBC_2.34 there. */
const NEW_SOURCE = `#include <pthread.h>
static void *work(void *arg) { return arg; }
int go(void) { pthread_t t; if (pthread_create(&t, 0, work, 0) != 0) return -1; pthread_join(t, 0); return 34; }
`;

beforeAll(async () => {
  const fixtures = makeTempDir('host-abi');
  const build = publicDir(fixtures, 'build');
  libnew = compileLibrary(build, 'libnew.so.1.0', 'libnew.so.1', NEW_SOURCE, ['-pthread']);
  libold = compileLibrary(build, 'libold.so.1', 'libold.so.1', '#include <stdio.h>\nint hi(void) { return puts("hi"); }\n');
  const dlcall = compileProgram(build, 'dlcall', DLCALL_SOURCE);
  // A CDI spec that mounts a whole folder of libraries (issue 12.7), libnew two levels down,
  // beside a linker script named like a library, which is no ELF file and must not be judged.
  const folder = publicDir(fixtures, 'driver');
  mkdirSync(join(folder, 'lib', 'gbm'), { recursive: true });
  copyFileSync(libnew, join(folder, 'lib', 'gbm', 'libnew.so.1.0'));
  writeFileSync(join(folder, 'lib', 'libscript.so'), 'GROUP ( libnew.so.1.0 )\n');
  cdiDir = publicDir(fixtures, 'cdi');
  writeFileSync(join(cdiDir, 'folder.yaml'), [
    'cdiVersion: "0.6.0"',
    'kind: example.com/folder',
    'devices:',
    '  - name: one',
    '    containerEdits:',
    '      env: [FOLDER_INDEX=0]',
    'containerEdits:',
    '  mounts:',
    `    - hostPath: ${folder}`,
    '      containerPath: /opt/driver',
    '      options: [ro, nosuid, nodev, bind]',
    '',
  ].join('\n'));
  makeReadable(fixtures);
  await pushHostImage(registry, 'host-e2e/old-glibc', oldGlibcEntries(build));
  await pushHostImage(registry, 'host-e2e/glibc-abi', hostGlibcEntries(), { dlcall });
});
afterAll(() => removeTempDirs());

it('builds the stand-ins it claims: libnew needs GLIBC_2.34 (objdump -T), libold only GLIBC_2.2.5', () => {
  expect(neededVersions(libnew)).toContain('GLIBC_2.34');
  expect(neededVersions(libold)).toEqual(['GLIBC_2.2.5']);
});

describe.each(CALLERS)('the ABI check before envlock run, as $name', (caller) => {
  let project: RunProject;
  beforeAll(async () => {
    const env = (name: string, image: string, library: string): string[] => [
      `  ${name}:`,
      `    image: ${registry}/host-e2e/${image}:latest`,
      '    platforms: [linux/amd64]',
      `    host: { libraries: [${library}] }`,
    ];
    project = await pulledProject(caller, [
      'version: 1',
      'environments:',
      ...env('oldnew', 'old-glibc', libnew),
      ...env('oldok', 'old-glibc', libold),
      ...env('fresh', 'glibc-abi', libnew),
      `  olddir:`,
      `    image: ${registry}/host-e2e/old-glibc:latest`,
      '    platforms: [linux/amd64]',
      '    host: { devices: [example.com/folder=one] }',
      `  freshdir:`,
      `    image: ${registry}/host-e2e/glibc-abi:latest`,
      '    platforms: [linux/amd64]',
      '    host: { devices: [example.com/folder=one] }',
      '',
    ].join('\n'));
  });

  it('refuses a library needing GLIBC_2.34 in a glibc 2.17 image with exit 4, before the command runs', async () => {
    const result = await run(project, ['run', 'oldnew', '--', 'sh', '-c', 'echo RAN']);
    expect(result.code).toBe(4);
    expect(result.stdout).not.toContain('RAN');
    expect(result.stderr).toContain('Host library libnew.so.1 needs GLIBC_2.34, which the image\'s glibc 2.17 does not provide.');
    expect(result.stderr).toContain('Use an image with glibc 2.34 or newer, or drop the host request (gpu/mpi/libraries) that brings in libnew.so.1.');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses the same in --dry-run, so the mismatch shows before a job is submitted', async () => {
    const result = await run(project, ['run', 'oldnew', '--dry-run', '--', 'true']);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('GLIBC_2.34');
  });

  it('lets a library needing only GLIBC_2.2.5 into the old image, under its soname in /.envlock/host-lib', async () => {
    const result = await run(project, ['run', 'oldok', '--', 'sh', '-c', 'ls /.envlock/host-lib; echo "ld=$LD_LIBRARY_PATH"; echo RAN']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('libold.so.1\n');
    expect(result.stdout).toMatch(/^ld=\/\.envlock\/host-lib(:|$)/m);
    expect(result.stdout).toContain('RAN');
  });

  it('loads the GLIBC_2.34 library in an image with this host\'s glibc: dlopen by soname and call it', async () => {
    const result = await run(project, ['run', 'fresh', '--', 'dlcall', 'libnew.so.1', 'go']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('libnew.so.1 go -> 34\n');
    expect(result.code).toBe(0);
  });

  it('refuses a CDI mount of a whole directory holding a library that needs a newer glibc than the image has', async () => {
    const result = await run(project, ['run', 'olddir', '--', 'sh', '-c', 'echo RAN'], { env: { ENVLOCK_CDI_DIRS: cdiDir } });
    expect(result.stdout).not.toContain('RAN');
    expect(result.stderr).toContain('Host library libnew.so.1.0 needs GLIBC_2.34, which the image\'s glibc 2.17 does not provide.');
    expect(result.code).toBe(4);
    // The same folder in an image with this host's glibc is mounted and runs.
    const fresh = await run(project, ['run', 'freshdir', '--', 'sh', '-c', 'ls /opt/driver/lib/gbm; echo RAN'], { env: { ENVLOCK_CDI_DIRS: cdiDir } });
    expect(fresh.stderr).toBe('');
    expect(fresh.stdout).toBe('libnew.so.1.0\nRAN\n');
    expect(fresh.code).toBe(0);
  });
});
