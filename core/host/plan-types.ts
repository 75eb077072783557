// The injection plan: plain data saying which host files, devices and variables a run adds to
// the container, and where each came from. core/host produces it; the launcher applies it.

import type { CdiHook } from './cdi/spec-types.js';

/** Directory inside the container where injected host libraries are placed (on a tmpfs the launcher provides). */
export const HOST_LIB_DIR = '/.envlock/host-lib';
/** Directory inside the container where injected host utilities (nvidia-smi, …) are placed. */
export const HOST_BIN_DIR = '/.envlock/host-bin';

export interface PlannedDeviceNode {
  hostPath: string;
  containerPath: string;
  /** cgroup permissions from CDI; informational, since envlock binds nodes and sets no device cgroup. */
  permissions?: string;
  source: string;
}

export interface PlannedMount {
  hostPath: string;
  containerPath: string;
  /** OCI-style options (ro, nosuid, nodev, bind, rbind…). */
  options: string[];
  source: string;
}

export interface PlannedLibrary {
  /** The real file on the host (symlinks resolved). */
  hostPath: string;
  /** Name it gets in HOST_LIB_DIR, the name the dynamic linker looks for. */
  soname: string;
  source: string;
}

export interface PlannedSymlink {
  /** What the link points to (relative targets are relative to the link's directory). */
  target: string;
  /** Absolute path of the link inside the container. */
  link: string;
  source: string;
}

export interface InjectionPlan {
  env: Record<string, string>;
  /** Directories to put in front of a search-path variable, e.g. LD_LIBRARY_PATH → [HOST_LIB_DIR]. */
  prependPath: Record<string, string[]>;
  deviceNodes: PlannedDeviceNode[];
  mounts: PlannedMount[];
  libraries: PlannedLibrary[];
  /** Directory inside the container the launcher places `libraries` in. */
  libraryDir: string;
  symlinks: PlannedSymlink[];
  /** True when a CDI spec asked for the loader cache to be updated (NVIDIA update-ldcache hook). */
  ldcache: boolean;
  /** The folders that update would cover; the launcher adds them to the loader path, as the root is read-only. */
  ldcacheFolders: string[];
  /** Hooks to run as OCI hooks; only ever non-empty when the site allows hooks. */
  hooksToRun: { hook: CdiHook; source: string }[];
  additionalGids: number[];
  /** Things noticed but deliberately not applied, for doctor and --dry-run. */
  notes: string[];
  /** Which spec files and discoveries contributed, in order. */
  sources: string[];
}

export function emptyPlan(): InjectionPlan {
  return {
    env: {},
    prependPath: {},
    deviceNodes: [],
    mounts: [],
    libraries: [],
    libraryDir: HOST_LIB_DIR,
    symlinks: [],
    ldcache: false,
    ldcacheFolders: [],
    hooksToRun: [],
    additionalGids: [],
    notes: [],
    sources: [],
  };
}
