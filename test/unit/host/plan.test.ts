import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostRequest } from '../../../core/declaration/model.js';
import { EXIT } from '../../../core/errors.js';
import { checkAbi, librariesInPlan } from '../../../core/host/abi-check.js';
import { describePlan } from '../../../core/host/describe-plan.js';
import { planInjection } from '../../../core/host/plan.js';
import { fakeMpiHost, fakeNvidiaHost, type FakeHost } from './fake-host.js';
import { FIXTURES, buildLibrary, caught, removeDir, tempDir } from './helpers.js';

const NONE: HostRequest = { devices: [], gpu: 'none', mpi: 'none', libraries: [] };
const noLdconfig = async (): Promise<string> => {
  throw new Error('ldconfig must not run for this request');
};

let dir: string;
let nvidia: FakeHost;
let mpi: FakeHost;
let cdiRoot: string;
let fakeDriver: string;

beforeAll(async () => {
  dir = await tempDir();
  nvidia = await fakeNvidiaHost(path.join(dir, 'nv'));
  mpi = await fakeMpiHost(path.join(dir, 'mpi'));
  // A host root whose /etc/cdi holds the fake vendor spec, which mounts a gcc-built library.
  cdiRoot = path.join(dir, 'cdi-host');
  const libDir = path.join(dir, 'lib');
  await fs.mkdir(libDir, { recursive: true });
  fakeDriver = buildLibrary(libDir, { file: 'libfakedrv.so.1.2.3', soname: 'libfakedrv.so.1', source: '#include <stdio.h>\nint fake(void){return puts("fake");}\n' });
  await fs.mkdir(path.join(cdiRoot, 'etc/cdi'), { recursive: true });
  const spec = (await fs.readFile(path.join(FIXTURES, 'vendor-template.yaml'), 'utf8')).replaceAll('@LIBDIR@', libDir);
  await fs.writeFile(path.join(cdiRoot, 'etc/cdi/fake.yaml'), spec);
});
afterAll(async () => removeDir(dir));

describe('planInjection', () => {
  it('plans nothing, and runs no ldconfig, for an empty request', async () => {
    const plan = await planInjection(NONE, { env: {}, hostRoot: cdiRoot, ldconfigRunner: noLdconfig });
    expect(plan.libraries).toEqual([]);
    expect(plan.sources).toEqual([]);
    expect(describePlan(plan)).toEqual(['host injection: nothing']);
  });

  it('turns a CDI device into env, a device bind, a library mount, symlinks and loader folders', async () => {
    const plan = await planInjection({ ...NONE, devices: ['example.com/fake=fake0'] }, { env: {}, hostRoot: cdiRoot, ldconfigRunner: noLdconfig });
    const specFile = path.join(cdiRoot, 'etc/cdi/fake.yaml');
    expect(plan.env).toEqual({ FAKE_DRIVER: '1.2.3', FAKE_VISIBLE_DEVICES: '0' });
    expect(plan.deviceNodes).toEqual([
      { hostPath: '/dev/null', containerPath: '/dev/fake0', permissions: 'rw', source: `example.com/fake=fake0 in ${specFile}` },
    ]);
    expect(plan.mounts).toEqual([
      { hostPath: fakeDriver, containerPath: '/usr/lib/fake/libfakedrv.so.1.2.3', options: ['ro', 'nosuid', 'nodev', 'bind'], source: `example.com/fake (spec-wide edits) in ${specFile}` },
    ]);
    expect(plan.symlinks.map(({ target, link }) => ({ target, link }))).toEqual([{ target: 'libfakedrv.so.1.2.3', link: '/usr/lib/fake/libfakedrv.so.1' }]);
    expect(plan.ldcache).toBe(true);
    expect(plan.prependPath).toEqual({ LD_LIBRARY_PATH: ['/usr/lib/fake'] });
    expect(plan.hooksToRun).toEqual([]);
    expect(plan.sources).toEqual([specFile]);
    const lines = describePlan(plan);
    expect(lines).toContain(`device /dev/fake0 <- /dev/null (rw)  [example.com/fake=fake0 in ${specFile}]`);
    expect(lines).toContain('env FAKE_VISIBLE_DEVICES=0');
    expect(lines.some((l) => l.startsWith('note: chmod hook'))).toBe(true);
  });

  it('hands CDI-mounted shared objects and injected libraries to the ABI check', async () => {
    const plan = await planInjection({ ...NONE, devices: ['example.com/fake=fake0'] }, { env: {}, hostRoot: cdiRoot, ldconfigRunner: noLdconfig });
    expect(librariesInPlan(plan)).toEqual([{ hostPath: fakeDriver, soname: 'libfakedrv.so.1.2.3' }]);
    // An image with no C library at all: the gcc-built driver needs glibc versions, so it is refused.
    const empty = path.join(dir, 'empty-image');
    await fs.mkdir(empty, { recursive: true });
    const error = await caught(checkAbi(librariesInPlan(plan), empty));
    expect(error.code).toBe('ABI_INCOMPATIBLE');
    expect(error.message).toMatch(/^Host library libfakedrv\.so\.1\.2\.3 needs glibc \(GLIBC_2\.2\.5\), but the image has no glibc \(it is static or distroless\)\.$/);
  });

  it('reads spec directories named in ENVLOCK_CDI_DIRS from the passed environment', async () => {
    const error = await caught(planInjection({ ...NONE, devices: ['example.com/fake=fake0'] }, { env: {}, hostRoot: dir, ldconfigRunner: noLdconfig }));
    expect(error.code).toBe('CDI_DEVICE_UNKNOWN');
    const plan = await planInjection(
      { ...NONE, devices: ['example.com/fake=fake0'] },
      { env: { ENVLOCK_CDI_DIRS: path.join(cdiRoot, 'etc/cdi') }, hostRoot: dir, ldconfigRunner: noLdconfig },
    );
    expect(plan.env.FAKE_VISIBLE_DEVICES).toBe('0');
  });

  it('discovers the NVIDIA driver for gpu: auto and puts libraries and utilities on the search paths', async () => {
    const plan = await planInjection({ ...NONE, gpu: 'auto' }, { env: { PATH: '/usr/bin' }, hostRoot: nvidia.root, ldconfigRunner: nvidia.runner, ldCacheFile: nvidia.cacheFile, arch: 'x64' });
    expect(plan.libraries.map((l) => l.soname)).toEqual(['libcuda.so.1', 'libnvidia-ml.so.1']);
    expect(plan.prependPath).toEqual({ LD_LIBRARY_PATH: ['/.envlock/host-lib'], PATH: ['/.envlock/host-bin'] });
    expect(plan.sources).toEqual(['gpu discovery: NVIDIA driver 550.54.15']);
    expect(describePlan(plan)).toContain(`library /.envlock/host-lib/libcuda.so.1 <- ${path.join(nvidia.libDir, 'libcuda.so.550.54.15')}  [gpu discovery: NVIDIA driver 550.54.15]`);
  });

  it('skips NVIDIA discovery when an nvidia.com CDI device is requested', async () => {
    const cdi = path.join(dir, 'nv-cdi');
    await fs.mkdir(cdi, { recursive: true });
    await fs.writeFile(
      path.join(cdi, 'nvidia.json'),
      JSON.stringify({ cdiVersion: '0.5.0', kind: 'nvidia.com/gpu', devices: [{ name: 'all', containerEdits: { deviceNodes: [{ path: '/dev/nvidia0', hostPath: '/dev/null' }] } }] }),
    );
    const plan = await planInjection({ ...NONE, gpu: 'nvidia', devices: ['nvidia.com/gpu=all'] }, { env: {}, hostRoot: nvidia.root, cdiDirs: [cdi], ldconfigRunner: noLdconfig });
    expect(plan.libraries).toEqual([]);
    expect(plan.deviceNodes.map((d) => d.hostPath)).toEqual(['/dev/null']);
    expect(plan.notes).toContain('nvidia GPU discovery is skipped: CDI devices of nvidia.com were requested and describe the driver.');
  });

  it('notes, rather than fails, gpu: auto on a host without GPUs; fails gpu: nvidia there', async () => {
    const plan = await planInjection({ ...NONE, gpu: 'auto' }, { env: {}, hostRoot: mpi.root, ldconfigRunner: noLdconfig });
    expect(plan.notes).toEqual(['gpu: auto found no NVIDIA or AMD GPU driver on this host; nothing GPU-related is injected.']);
    const error = await caught(planInjection({ ...NONE, gpu: 'nvidia' }, { env: {}, hostRoot: mpi.root, ldconfigRunner: mpi.runner, ldCacheFile: mpi.cacheFile }));
    expect(error.code).toBe('GPU_UNAVAILABLE');
  });

  it('plans host MPI with its closure and provider path, and extra libraries by soname or path', async () => {
    const options = { env: {}, hostRoot: mpi.root, ldconfigRunner: mpi.runner, ldCacheFile: mpi.cacheFile, arch: 'x64' };
    const plan = await planInjection({ ...NONE, mpi: 'host', libraries: ['libenvlock-cxi.so.1', '/opt/mpi/lib/libfabric.so'] }, options);
    const sonames = plan.libraries.map((l) => l.soname);
    expect(sonames).toEqual(expect.arrayContaining(['libmpi.so.40', 'libfabric.so.1', 'libenvlock-cxi.so.1']));
    // A library given by path is placed under its DT_SONAME, so it merges with the same file found by MPI discovery.
    expect(sonames).not.toContain('libfabric.so');
    expect(sonames).not.toContain('libc.so.6');
    expect(new Set(sonames).size).toBe(sonames.length);
    expect(plan.env).toEqual({ FI_PROVIDER_PATH: '/.envlock/host-lib/libfabric' });
    expect(plan.prependPath.LD_LIBRARY_PATH).toEqual(['/.envlock/host-lib']);
  });

  it('fails with HOST_LIBRARY_NOT_FOUND, suggesting a near soname, for an unknown library', async () => {
    const options = { env: {}, hostRoot: mpi.root, ldconfigRunner: mpi.runner, ldCacheFile: mpi.cacheFile, arch: 'x64' };
    const error = await caught(planInjection({ ...NONE, libraries: ['libfabric.so.2'] }, options));
    expect(error.code).toBe('HOST_LIBRARY_NOT_FOUND');
    expect(error.exitCode).toBe(EXIT.HOST_UNSUPPORTED);
    expect(error.message).toBe("Host library libfabric.so.2 is not in this host's loader cache. Did you mean `libfabric.so.1`?");
    const missingPath = await caught(planInjection({ ...NONE, libraries: ['/opt/none/libx.so'] }, options));
    expect(missingPath.message).toBe('Host library /opt/none/libx.so does not exist.');
  });
});
