// Host MPI through the real CLI, as root and as nobody: a gcc-built libmpi.so.40 that needs a
// libfabric.so.1 (with a provider directory), registered only in a site loader cache named by
// ENVLOCK_LDCACHE, is injected with its dependency, and a program in the image linked against it runs.

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeTempDir, removeTempDirs } from '../../helpers/cli.js';
import { CALLERS, pulledProject, run, type RunProject } from '../run/run-helpers.js';
import { buildLdCache, compileLibrary, compileProgram, hostGlibcEntries, link, makeReadable, publicDir, pushHostImage } from './host-fixtures.js';

const registry = inject('registry');
let mpiDir: string;
let siteCache: string;
let emptyCache: string;

beforeAll(async () => {
  const fixtures = makeTempDir('host-mpi');
  mpiDir = publicDir(fixtures, 'site-mpi/lib');
  compileLibrary(mpiDir, 'libfabric.so.1.2.3', 'libfabric.so.1', 'int fabric_answer(void) { return 40; }\n');
  link('libfabric.so.1.2.3', join(mpiDir, 'libfabric.so.1'));
  link('libfabric.so.1', join(mpiDir, 'libfabric.so'));
  // libfabric loads its providers from a directory next to it (FI_PROVIDER_PATH).
  mkdirSync(join(mpiDir, 'libfabric'));
  writeFileSync(join(mpiDir, 'libfabric', 'libwidget-fi.so'), 'provider stand-in\n');
  const mpiSource = 'int fabric_answer(void);\nint fake_mpi_answer(void) { return fabric_answer() + 2; }\n';
  compileLibrary(mpiDir, 'libmpi.so.40.0.0', 'libmpi.so.40', mpiSource, [`-L${mpiDir}`, '-lfabric']);
  link('libmpi.so.40.0.0', join(mpiDir, 'libmpi.so.40'));
  link('libmpi.so.40', join(mpiDir, 'libmpi.so'));
  const build = publicDir(fixtures, 'build');
  const program = compileProgram(build, 'mpi-hello', '#include <stdio.h>\nint fake_mpi_answer(void);\nint main(void) { printf("mpi answer %d\\n", fake_mpi_answer()); return 0; }\n', [
    `-L${mpiDir}`, '-lmpi', `-Wl,-rpath-link,${mpiDir}`,
  ]);
  siteCache = buildLdCache(publicDir(fixtures, 'cache'), [mpiDir]);
  emptyCache = buildLdCache(publicDir(fixtures, 'empty-cache'), [publicDir(fixtures, 'nothing')]);
  makeReadable(fixtures);
  await pushHostImage(registry, 'host-e2e/glibc-mpi', hostGlibcEntries(), { 'mpi-hello': program });
});
afterAll(() => removeTempDirs());

it('registers the fake MPI only in the site cache, not in the host\'s', () => {
  expect(execFileSync('/sbin/ldconfig', ['-p', '-C', siteCache], { encoding: 'utf8' })).toMatch(/libmpi\.so\.40 \(libc6,x86-64\) => .*libmpi\.so\.40/);
  expect(execFileSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8' })).not.toContain(mpiDir);
});

describe.each(CALLERS)('mpi: host through envlock run, as $name', (caller) => {
  let project: RunProject;
  beforeAll(async () => {
    project = await pulledProject(caller, [
      'version: 1',
      'environments:',
      '  solver:',
      `    image: ${registry}/host-e2e/glibc-mpi:latest`,
      '    platforms: [linux/amd64]',
      '    host: { mpi: host }',
      '',
    ].join('\n'));
  });

  it('injects libmpi and the libfabric it needs, with its providers, and the linked program runs', async () => {
    const script = 'ls /.envlock/host-lib; echo "fi=$FI_PROVIDER_PATH"; ls "$FI_PROVIDER_PATH"; mpi-hello';
    const result = await run(project, ['run', 'solver', '--', 'sh', '-c', script], { env: { ENVLOCK_LDCACHE: siteCache } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toContain('libmpi.so.40');
    expect(lines).toContain('libfabric.so.1');
    expect(lines).toContain('fi=/.envlock/host-lib/libfabric');
    expect(lines).toContain('libwidget-fi.so');
    expect(lines.at(-1)).toBe('mpi answer 42');
  });

  it('needs the injected directory: with the loader path cleared, the image alone has no libmpi', async () => {
    const result = await run(project, ['run', 'solver', '--', 'sh', '-c', 'LD_LIBRARY_PATH= mpi-hello'], { env: { ENVLOCK_LDCACHE: siteCache } });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('libmpi.so.40: cannot open shared object file');
  });

  it('shows each library and where it comes from with --dry-run', async () => {
    const result = await run(project, ['run', 'solver', '--dry-run', '--', 'mpi-hello'], { env: { ENVLOCK_LDCACHE: siteCache } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`library /.envlock/host-lib/libmpi.so.40 <- ${join(mpiDir, 'libmpi.so.40.0.0')}`);
    expect(result.stdout).toContain(`library /.envlock/host-lib/libfabric.so.1 <- ${join(mpiDir, 'libfabric.so.1.2.3')}`);
    expect(result.stdout).toContain('env FI_PROVIDER_PATH=/.envlock/host-lib/libfabric');
  });

  it('names the file when ENVLOCK_LDCACHE points at nothing (CONFIG_INVALID, exit 1)', async () => {
    const missing = join(mpiDir, 'no-such-ld.so.cache');
    const result = await run(project, ['run', 'solver', '--json', '--', 'true'], { env: { ENVLOCK_LDCACHE: missing } });
    expect(result.code).toBe(1);
    expect(result.json<{ error: { code: string; message: string } }>().error).toMatchObject({
      code: 'CONFIG_INVALID',
      message: `The loader cache ${missing} that ENVLOCK_LDCACHE names is not a file.`,
    });
  });

  it('refuses with exit 4 when the loader cache holds no MPI', async () => {
    const result = await run(project, ['run', 'solver', '--', 'true'], { env: { ENVLOCK_LDCACHE: emptyCache } });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('No MPI library (libmpi.so) is in the host\'s loader cache');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
