// Builds fake hosts for discovery tests: an NVIDIA driver tree (version file, gcc-built
// driver libraries, device nodes as plain files, nvidia-smi) and a host MPI stack, each with
// a real ldconfig cache whose entries are limited to the fake tree.

import fs from 'node:fs/promises';
import path from 'node:path';
import { defaultLdconfigRunner, type LdconfigRunner } from '../../../core/host/ldconfig.js';
import { buildLdCache, buildLibrary } from './helpers.js';

export const DRIVER = '550.54.15';

export interface FakeHost {
  root: string;
  libDir: string;
  cacheFile: string;
  /** Runs the real ldconfig but keeps only entries inside the fake tree, so the host's own libraries never leak in. */
  runner: LdconfigRunner;
}

function confinedRunner(root: string): LdconfigRunner {
  return async (args) => {
    const out = await defaultLdconfigRunner(args);
    return out
      .split('\n')
      .filter((line) => line.includes(`=> ${root}/`))
      .join('\n');
  };
}

/** /proc/driver/nvidia/version, libcuda and NVML at the driver version, a stale ptxjitcompiler, /dev nodes, nvidia-smi. */
export async function fakeNvidiaHost(root: string): Promise<FakeHost> {
  const libDir = path.join(root, 'usr/lib/x86_64-linux-gnu');
  await fs.mkdir(libDir, { recursive: true });
  await fs.mkdir(path.join(root, 'proc/driver/nvidia'), { recursive: true });
  await fs.writeFile(
    path.join(root, 'proc/driver/nvidia/version'),
    `NVRM version: NVIDIA UNIX x86_64 Kernel Module  ${DRIVER}  Tue Mar  5 22:23:56 UTC 2024\nGCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n`,
  );
  buildLibrary(libDir, { file: `libcuda.so.${DRIVER}`, soname: 'libcuda.so.1', source: 'int cuInit(unsigned f){return (int)f;}\n' });
  buildLibrary(libDir, { file: `libnvidia-ml.so.${DRIVER}`, soname: 'libnvidia-ml.so.1', source: 'int nvmlInit(void){return 0;}\n' });
  // Left behind by an older driver: must not be injected.
  buildLibrary(libDir, { file: 'libnvidia-ptxjitcompiler.so.535.104.05', soname: 'libnvidia-ptxjitcompiler.so.1', source: 'int ptx(void){return 1;}\n' });
  await fs.symlink('libcuda.so.1', path.join(libDir, 'libcuda.so'));
  await fs.mkdir(path.join(root, 'dev/nvidia-caps'), { recursive: true });
  for (const node of ['nvidia0', 'nvidia1', 'nvidiactl', 'nvidia-uvm', 'nvidia-caps/nvidia-cap1', 'null']) {
    await fs.writeFile(path.join(root, 'dev', node), '');
  }
  await fs.mkdir(path.join(root, 'usr/bin'), { recursive: true });
  await fs.writeFile(path.join(root, 'usr/bin/nvidia-smi'), '#!/bin/sh\n', { mode: 0o755 });
  const cacheFile = buildLdCache(root, [libDir]);
  return { root, libDir, cacheFile, runner: confinedRunner(root) };
}

/** libmpi.so.40 → libfabric.so.1 → libenvlock-cxi.so.1, all gcc-built, plus a libfabric provider directory. */
export async function fakeMpiHost(root: string): Promise<FakeHost> {
  const libDir = path.join(root, 'opt/mpi/lib');
  await fs.mkdir(path.join(libDir, 'libfabric'), { recursive: true });
  buildLibrary(libDir, { file: 'libenvlock-cxi.so.1.0.0', soname: 'libenvlock-cxi.so.1', source: 'int cxi(void){return 3;}\n' });
  await fs.symlink('libenvlock-cxi.so.1.0.0', path.join(libDir, 'libenvlock-cxi.so'));
  buildLibrary(libDir, {
    file: 'libfabric.so.1.18.0',
    soname: 'libfabric.so.1',
    source: 'int cxi(void);\nint fi_getinfo(void){return cxi();}\n',
    args: [`-L${libDir}`, '-lenvlock-cxi'],
  });
  await fs.symlink('libfabric.so.1.18.0', path.join(libDir, 'libfabric.so'));
  buildLibrary(libDir, {
    file: 'libmpi.so.40.30.5',
    soname: 'libmpi.so.40',
    source: '#include <stdio.h>\nint fi_getinfo(void);\nint MPI_Init(void){puts("init");return fi_getinfo();}\n',
    args: [`-L${libDir}`, '-lfabric'],
  });
  await fs.symlink('libmpi.so.40.30.5', path.join(libDir, 'libmpi.so'));
  buildLibrary(path.join(libDir, 'libfabric'), { file: 'libcxi-fi.so', source: 'int prov(void){return 0;}\n' });
  const cacheFile = buildLdCache(root, [libDir]);
  return { root, libDir, cacheFile, runner: confinedRunner(root) };
}
