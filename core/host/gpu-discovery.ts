// Finds a GPU vendor's host driver pieces when no CDI spec describes them: user-space
// libraries from the loader cache (NVIDIA: only those whose file version equals the loaded
// kernel module's, as libnvidia-container does), device nodes, and utilities on PATH.

import fs from 'node:fs/promises';
import path from 'node:path';
import { EnvlockError } from '../errors.js';
import {
  AMD_LIBRARIES,
  AMD_UTILITIES,
  NVIDIA_DEVICE_NODES,
  NVIDIA_LIBRARIES,
  NVIDIA_REQUIRED,
  NVIDIA_SOCKETS,
  NVIDIA_UTILITIES,
  librarySuffixVersion,
  parseNvidiaDriverVersion,
} from './gpu-libraries.js';
import { DEFAULT_HOST_PATH, HostPaths } from './host-paths.js';
import type { LdCache } from './ldconfig.js';
import { HOST_BIN_DIR, HOST_LIB_DIR, type PlannedDeviceNode, type PlannedLibrary, type PlannedMount, type PlannedSymlink } from './plan-types.js';

export type GpuVendor = 'nvidia' | 'amd';

export interface GpuFragment {
  vendor: GpuVendor;
  /** NVIDIA kernel driver version, when known. */
  driverVersion?: string;
  libraries: PlannedLibrary[];
  deviceNodes: PlannedDeviceNode[];
  mounts: PlannedMount[];
  symlinks: PlannedSymlink[];
  notes: string[];
  source: string;
}

export interface GpuDiscoveryOptions {
  hostRoot?: string;
  /** The host environment; only PATH is read, to find utilities. */
  env: Readonly<Record<string, string | undefined>>;
  cache: LdCache;
}

const NVIDIA_VERSION_FILE = '/proc/driver/nvidia/version';
const BIND_RO = ['ro', 'nosuid', 'nodev', 'bind'];

/** Which vendors' kernel drivers are present on this host, for gpu: auto. */
export async function detectGpuVendors(hostRoot = '/'): Promise<GpuVendor[]> {
  const host = new HostPaths(hostRoot);
  const found: GpuVendor[] = [];
  if (await host.exists(NVIDIA_VERSION_FILE)) found.push('nvidia');
  if (await host.exists('/dev/kfd')) found.push('amd');
  return found;
}

async function deviceNodes(host: HostPaths, names: string[], source: string): Promise<PlannedDeviceNode[]> {
  const nodes: PlannedDeviceNode[] = [];
  for (const name of names) {
    const containerPath = path.posix.join('/dev', name);
    if (await host.exists(containerPath)) nodes.push({ hostPath: host.at(containerPath), containerPath, permissions: 'rw', source });
  }
  return nodes;
}

async function utilities(host: HostPaths, names: readonly string[], env: GpuDiscoveryOptions['env'], source: string): Promise<PlannedMount[]> {
  const mounts: PlannedMount[] = [];
  for (const name of names) {
    const found = await host.findOnPath(name, env.PATH ?? DEFAULT_HOST_PATH);
    if (found !== undefined) mounts.push({ hostPath: found, containerPath: path.posix.join(HOST_BIN_DIR, name), options: BIND_RO, source });
  }
  return mounts;
}

/** NVIDIA: version-matched driver libraries, /dev/nvidia* nodes, nvidia-smi and friends. */
export async function discoverNvidia(options: GpuDiscoveryOptions): Promise<GpuFragment> {
  const host = new HostPaths(options.hostRoot);
  const versionText = await host.readText(NVIDIA_VERSION_FILE);
  const driverVersion = versionText === undefined ? undefined : parseNvidiaDriverVersion(versionText);
  if (driverVersion === undefined) {
    throw new EnvlockError('GPU_UNAVAILABLE', `No NVIDIA kernel driver is loaded on this host (${NVIDIA_VERSION_FILE} is ${versionText === undefined ? 'missing' : 'unreadable'}).`, {
      hint: 'Run on a GPU node (for Slurm: request one with --gpus), or set `gpu: none` in the declaration.',
    });
  }
  const source = `gpu discovery: NVIDIA driver ${driverVersion}`;
  const fragment: GpuFragment = { vendor: 'nvidia', driverVersion, libraries: [], deviceNodes: [], mounts: [], symlinks: [], notes: [], source };

  for (const stem of NVIDIA_LIBRARIES) {
    const seen = new Set<string>();
    for (const entry of options.cache.findByStem(stem)) {
      // The bare development name (libcuda.so) is a link to the same file; the soname entry is what programs load.
      if (entry.soname === stem || seen.has(entry.soname)) continue;
      const real = await fs.realpath(entry.path).catch(() => undefined);
      if (real === undefined) continue;
      const version = librarySuffixVersion(path.basename(real));
      if (version !== driverVersion) {
        fragment.notes.push(`${entry.soname} at ${real} is skipped: its version ${version ?? '(none)'} is not the kernel driver's ${driverVersion}.`);
        continue;
      }
      seen.add(entry.soname);
      fragment.libraries.push({ hostPath: real, soname: entry.soname, source });
    }
  }
  const cuda = fragment.libraries.find((l) => l.soname.startsWith(`${NVIDIA_REQUIRED}.`));
  if (cuda === undefined) {
    throw new EnvlockError('GPU_UNAVAILABLE', `The NVIDIA driver ${driverVersion} is loaded, but no libcuda.so of that version is in the host's loader cache.`, {
      hint: 'Ask the site administrator to install the driver\'s user-space libraries and run ldconfig, or to provide a CDI spec (`nvidia-ctk cdi generate`).',
      details: { skipped: fragment.notes },
    });
  }
  // Programs that dlopen("libcuda.so") find it next to the soname, as the CTK's create-symlinks hook provides.
  fragment.symlinks.push({ target: cuda.soname, link: path.posix.join(HOST_LIB_DIR, NVIDIA_REQUIRED), source });

  const gpus = (await host.list('/dev')).filter((n) => /^nvidia[0-9]+$/.test(n));
  const caps = (await host.list('/dev/nvidia-caps')).map((n) => `nvidia-caps/${n}`);
  fragment.deviceNodes = await deviceNodes(host, [...NVIDIA_DEVICE_NODES, ...gpus, ...caps], source);
  if (!fragment.deviceNodes.some((d) => d.containerPath === '/dev/nvidiactl')) {
    fragment.notes.push('/dev/nvidiactl is missing: CUDA programs will not find the GPU.');
  }
  if (!fragment.deviceNodes.some((d) => d.containerPath === '/dev/nvidia-uvm')) {
    fragment.notes.push('/dev/nvidia-uvm is missing (the nvidia_uvm module is not loaded yet): CUDA may fail to initialise.');
  }
  fragment.mounts = await utilities(host, NVIDIA_UTILITIES, options.env, source);
  for (const socket of NVIDIA_SOCKETS) {
    if (await host.exists(socket)) fragment.mounts.push({ hostPath: host.at(socket), containerPath: socket, options: ['nosuid', 'nodev', 'bind'], source });
  }
  return fragment;
}

/** AMD ROCm: /dev/kfd and /dev/dri nodes, ROCm runtime libraries from the loader cache, rocm-smi. */
export async function discoverAmd(options: GpuDiscoveryOptions): Promise<GpuFragment> {
  const host = new HostPaths(options.hostRoot);
  if (!(await host.exists('/dev/kfd'))) {
    throw new EnvlockError('GPU_UNAVAILABLE', 'No AMD GPU compute driver is loaded on this host (/dev/kfd is missing).', {
      hint: 'Run on an AMD GPU node, or set `gpu: none` in the declaration.',
    });
  }
  const source = 'gpu discovery: AMD ROCm';
  const fragment: GpuFragment = { vendor: 'amd', libraries: [], deviceNodes: [], mounts: [], symlinks: [], notes: [], source };
  for (const stem of AMD_LIBRARIES) {
    const entry = options.cache.findByStem(stem).find((e) => e.soname !== stem);
    if (entry === undefined) continue;
    const real = await fs.realpath(entry.path).catch(() => undefined);
    if (real !== undefined) fragment.libraries.push({ hostPath: real, soname: entry.soname, source });
  }
  if (fragment.libraries.length === 0) {
    fragment.notes.push('No ROCm libraries are in the host loader cache; the image must bring its own ROCm runtime.');
  }
  const dri = (await host.list('/dev/dri')).filter((n) => /^(card|renderD)[0-9]+$/.test(n)).map((n) => `dri/${n}`);
  fragment.deviceNodes = await deviceNodes(host, ['kfd', ...dri], source);
  fragment.mounts = await utilities(host, AMD_UTILITIES, options.env, source);
  return fragment;
}
