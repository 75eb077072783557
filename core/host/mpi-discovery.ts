// Host MPI injection (`mpi: host`): the site's MPI, PMI and fabric libraries from the loader
// cache plus their DT_NEEDED closure (never glibc), and the plugin directories libfabric and
// UCX load providers from. Only sound when the image's MPI is ABI-compatible: docs/host-integration.md.

import fs from 'node:fs/promises';
import path from 'node:path';
import { EnvlockError } from '../errors.js';
import type { LdCache } from './ldconfig.js';
import { libraryClosure } from './library-closure.js';
import { HOST_LIB_DIR, type PlannedLibrary, type PlannedMount } from './plan-types.js';

/** Sonames of MPI itself (Open MPI libmpi.so.40, MPICH-ABI libmpi.so.12, libmpi_*, libmpicxx, libmpifort), PMI/PMIx and fabrics. */
const MPI_SONAMES: RegExp[] = [
  /^libmpi(_[a-z0-9_]+)?\.so(\.|$)/,
  /^libmpicxx\.so(\.|$)/,
  /^libmpifort\.so(\.|$)/,
  /^libpmix\.so(\.|$)/,
  /^libpmi2?\.so(\.|$)/,
  /^libfabric\.so(\.|$)/,
  /^libuc[pstm]\.so(\.|$)/,
];

/** Plugin directories next to a library, the container path they get, and the variable that points there. */
const PLUGIN_DIRS: { library: RegExp; dir: string; variable: string }[] = [
  { library: /^libfabric\.so/, dir: 'libfabric', variable: 'FI_PROVIDER_PATH' },
  { library: /^libucs\.so/, dir: 'ucx', variable: 'UCX_MODULE_DIR' },
];

export interface MpiFragment {
  libraries: PlannedLibrary[];
  mounts: PlannedMount[];
  env: Record<string, string>;
  notes: string[];
  source: string;
}

export interface MpiDiscoveryOptions {
  cache: LdCache;
  /** The host's LD_LIBRARY_PATH (for dependencies outside the cache). */
  libraryPath?: string;
}

export async function discoverMpi(options: MpiDiscoveryOptions): Promise<MpiFragment> {
  const source = 'mpi discovery: host loader cache';
  const roots: PlannedLibrary[] = [];
  const sonames = new Set<string>();
  const matching = options.cache.entries.filter((e) => MPI_SONAMES.some((re) => re.test(e.soname)));
  for (const entry of matching) {
    // A bare development name (libmpi.so) duplicates a versioned soname of the same library.
    const versioned = matching.some((o) => o.soname.startsWith(`${entry.soname}.`));
    if (versioned || sonames.has(entry.soname)) continue;
    const real = await fs.realpath(entry.path).catch(() => undefined);
    if (real === undefined) continue;
    sonames.add(entry.soname);
    roots.push({ hostPath: real, soname: entry.soname, source });
  }
  if (!roots.some((r) => /^libmpi\.so/.test(r.soname))) {
    throw new EnvlockError('HOST_LIBRARY_NOT_FOUND', 'No MPI library (libmpi.so) is in the host\'s loader cache, so `mpi: host` has nothing to inject.', {
      hint: 'Ask the site administrator to register the system MPI with ldconfig, list it under `libraries` by absolute path, or set `mpi: none`.',
    });
  }
  const closure = await libraryClosure(roots, options);
  const fragment: MpiFragment = { libraries: closure.libraries, mounts: [], env: {}, notes: closure.notes, source };

  for (const plugin of PLUGIN_DIRS) {
    const lib = roots.find((r) => plugin.library.test(r.soname));
    if (lib === undefined) continue;
    const dir = path.join(path.dirname(lib.hostPath), plugin.dir);
    const stat = await fs.stat(dir).catch(() => undefined);
    if (!stat?.isDirectory()) continue;
    const containerPath = path.posix.join(HOST_LIB_DIR, plugin.dir);
    fragment.mounts.push({ hostPath: dir, containerPath, options: ['ro', 'nosuid', 'nodev', 'rbind'], source });
    fragment.env[plugin.variable] = containerPath;
  }
  return fragment;
}
