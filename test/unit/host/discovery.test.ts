import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../../core/errors.js';
import { detectGpuVendors, discoverAmd, discoverNvidia } from '../../../core/host/gpu-discovery.js';
import { parseNvidiaDriverVersion } from '../../../core/host/gpu-libraries.js';
import { LdCache } from '../../../core/host/ldconfig.js';
import { discoverMpi } from '../../../core/host/mpi-discovery.js';
import { DRIVER, fakeMpiHost, fakeNvidiaHost, type FakeHost } from './fake-host.js';
import { caught, removeDir, tempDir } from './helpers.js';

let dir: string;
let nvidia: FakeHost;
let mpi: FakeHost;
beforeAll(async () => {
  dir = await tempDir();
  nvidia = await fakeNvidiaHost(path.join(dir, 'nv'));
  mpi = await fakeMpiHost(path.join(dir, 'mpi'));
});
afterAll(async () => removeDir(dir));

const load = (h: FakeHost): Promise<LdCache> => LdCache.load({ runner: h.runner, cacheFile: h.cacheFile, arch: 'x64' });

describe('parseNvidiaDriverVersion', () => {
  it('reads proprietary and open kernel module lines', () => {
    expect(parseNvidiaDriverVersion('NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar')).toBe('550.54.15');
    expect(parseNvidiaDriverVersion('NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  560.35.03  Release Build')).toBe('560.35.03');
    expect(parseNvidiaDriverVersion('garbage')).toBeUndefined();
  });
});

describe('discoverNvidia', () => {
  it('injects only driver libraries of the loaded kernel version, the device nodes and nvidia-smi', async () => {
    const found = await discoverNvidia({ hostRoot: nvidia.root, env: { PATH: '/usr/bin' }, cache: await load(nvidia) });
    expect(found.driverVersion).toBe(DRIVER);
    expect(found.libraries.map((l) => [l.soname, path.basename(l.hostPath)])).toEqual([
      ['libcuda.so.1', `libcuda.so.${DRIVER}`],
      ['libnvidia-ml.so.1', `libnvidia-ml.so.${DRIVER}`],
    ]);
    expect(found.notes.join('\n')).toMatch(/libnvidia-ptxjitcompiler\.so\.1 at .* is skipped: its version 535\.104\.05 is not the kernel driver's 550\.54\.15/);
    expect(found.deviceNodes.map((d) => d.containerPath)).toEqual([
      '/dev/nvidiactl',
      '/dev/nvidia-uvm',
      '/dev/nvidia0',
      '/dev/nvidia1',
      '/dev/nvidia-caps/nvidia-cap1',
    ]);
    expect(found.deviceNodes[0]!.hostPath).toBe(path.join(nvidia.root, 'dev/nvidiactl'));
    expect(found.mounts.map((m) => [m.hostPath, m.containerPath])).toEqual([[path.join(nvidia.root, 'usr/bin/nvidia-smi'), '/.envlock/host-bin/nvidia-smi']]);
    expect(found.symlinks.map(({ target, link }) => ({ target, link }))).toEqual([{ target: 'libcuda.so.1', link: '/.envlock/host-lib/libcuda.so' }]);
  });

  it('fails with GPU_UNAVAILABLE when no NVIDIA driver is loaded', async () => {
    const error = await caught(discoverNvidia({ hostRoot: mpi.root, env: {}, cache: await load(mpi) }));
    expect(error.code).toBe('GPU_UNAVAILABLE');
    expect(error.exitCode).toBe(EXIT.HOST_UNSUPPORTED);
    expect(error.message).toBe('No NVIDIA kernel driver is loaded on this host (/proc/driver/nvidia/version is missing).');
  });

  it('fails with GPU_UNAVAILABLE when the driver is loaded but no matching libcuda is cached', async () => {
    const error = await caught(discoverNvidia({ hostRoot: nvidia.root, env: {}, cache: new LdCache([]) }));
    expect(error.code).toBe('GPU_UNAVAILABLE');
    expect(error.message).toMatch(/driver 550\.54\.15 is loaded, but no libcuda\.so of that version/);
  });
});

describe('AMD and auto detection', () => {
  it('detects vendors from the driver files present', async () => {
    expect(await detectGpuVendors(nvidia.root)).toEqual(['nvidia']);
    expect(await detectGpuVendors(mpi.root)).toEqual([]);
  });

  it('injects /dev/kfd and /dev/dri render nodes for AMD, and refuses without /dev/kfd', async () => {
    const root = path.join(dir, 'amd');
    await fs.mkdir(path.join(root, 'dev/dri'), { recursive: true });
    for (const n of ['kfd', 'dri/card0', 'dri/renderD128', 'dri/by-path']) await fs.writeFile(path.join(root, 'dev', n), '');
    const found = await discoverAmd({ hostRoot: root, env: {}, cache: new LdCache([]) });
    expect(found.deviceNodes.map((d) => d.containerPath)).toEqual(['/dev/kfd', '/dev/dri/card0', '/dev/dri/renderD128']);
    const error = await caught(discoverAmd({ hostRoot: mpi.root, env: {}, cache: new LdCache([]) }));
    expect(error.code).toBe('GPU_UNAVAILABLE');
    expect(error.message).toMatch(/\/dev\/kfd is missing/);
  });
});

describe('discoverMpi', () => {
  it('finds libmpi and libfabric in the cache and their DT_NEEDED closure, never glibc', async () => {
    const found = await discoverMpi({ cache: await load(mpi) });
    const sonames = found.libraries.map((l) => l.soname);
    expect(sonames).toEqual(expect.arrayContaining(['libmpi.so.40', 'libfabric.so.1', 'libenvlock-cxi.so.1']));
    expect(sonames).not.toContain('libc.so.6');
    expect(sonames).not.toContain('libmpi.so');
    const cxi = found.libraries.find((l) => l.soname === 'libenvlock-cxi.so.1')!;
    expect(cxi.hostPath).toBe(path.join(mpi.libDir, 'libenvlock-cxi.so.1.0.0'));
    expect(cxi.source).toMatch(/needed by libfabric\.so\.1/);
    expect(found.mounts.map((m) => [m.hostPath, m.containerPath])).toEqual([[path.join(mpi.libDir, 'libfabric'), '/.envlock/host-lib/libfabric']]);
    expect(found.env).toEqual({ FI_PROVIDER_PATH: '/.envlock/host-lib/libfabric' });
  });

  it('finds a dependency outside the cache through the host LD_LIBRARY_PATH, and notes one that is nowhere', async () => {
    const cache = await load(mpi);
    const withoutCxi = new LdCache(cache.entries.filter((e) => !e.soname.startsWith('libenvlock-cxi')));
    const missing = await discoverMpi({ cache: withoutCxi });
    expect(missing.libraries.map((l) => l.soname)).not.toContain('libenvlock-cxi.so.1');
    expect(missing.notes).toContain('libenvlock-cxi.so.1, needed by libfabric.so.1, is not on the host; the image must provide it.');
    const viaPath = await discoverMpi({ cache: withoutCxi, libraryPath: mpi.libDir });
    expect(viaPath.libraries.map((l) => l.soname)).toContain('libenvlock-cxi.so.1');
  });

  it('fails with HOST_LIBRARY_NOT_FOUND when the host has no MPI', async () => {
    const error = await caught(discoverMpi({ cache: await load(nvidia) }));
    expect(error.code).toBe('HOST_LIBRARY_NOT_FOUND');
    expect(error.exitCode).toBe(EXIT.HOST_UNSUPPORTED);
    expect(error.message).toMatch(/No MPI library \(libmpi\.so\) is in the host's loader cache/);
  });
});
