// Turns a host injection plan (CDI devices, GPU and MPI discovery, extra libraries) into launcher
// binds, device nodes and variables. Libraries land in one directory inside, each bound read-only
// under its soname; a symlink a CDI hook asks for is a second bind of the file it points to.

import path from 'node:path';
import type { InjectionPlan } from '../host/plan-types.js';
import type { BindMount, DeviceNode } from '../runtime/spec.js';

export interface InjectionMounts {
  binds: BindMount[];
  devices: DeviceNode[];
  env: Record<string, string>;
  prependPath: Record<string, string[]>;
  notes: string[];
}

export function injectionMounts(plan: InjectionPlan): InjectionMounts {
  const binds: BindMount[] = [];
  const byInside = new Map<string, string>();
  for (const mount of plan.mounts) {
    binds.push({ source: mount.hostPath, destination: mount.containerPath, readOnly: !mount.options.includes('rw') });
    byInside.set(mount.containerPath, mount.hostPath);
  }
  for (const library of plan.libraries) {
    const inside = path.posix.join(plan.libraryDir, library.soname);
    if (byInside.has(inside)) continue;
    binds.push({ source: library.hostPath, destination: inside, readOnly: true });
    byInside.set(inside, library.hostPath);
  }
  // plan.notes are shown by describePlan already; these are only what applying the plan adds.
  const notes: string[] = [];
  // Links may point at other links (libcuda.so -> libcuda.so.1 -> libcuda.so.550.54.15), in any
  // order, so resolve until a pass binds nothing new.
  let pending = [...plan.symlinks];
  for (let progress = true; progress && pending.length > 0; ) {
    progress = false;
    pending = pending.filter((link) => {
      const host = byInside.get(path.posix.resolve(path.posix.dirname(link.link), link.target));
      if (host === undefined) return true;
      if (!byInside.has(link.link)) {
        binds.push({ source: host, destination: link.link, readOnly: true });
        byInside.set(link.link, host);
      }
      progress = true;
      return false;
    });
  }
  for (const link of pending) notes.push(`symlink ${link.link} -> ${link.target} skipped: its target is not injected (${link.source})`);
  const devices = plan.deviceNodes.map((d) => ({ source: d.hostPath, destination: d.containerPath }));
  const prependPath: Record<string, string[]> = { ...plan.prependPath };
  // planInjection already prepends the update-ldcache folders; add only those a plan lacks.
  const loaderPath = prependPath.LD_LIBRARY_PATH ?? [];
  const extra = plan.ldcacheFolders.filter((f) => !loaderPath.includes(f));
  if (extra.length > 0) prependPath.LD_LIBRARY_PATH = [...loaderPath, ...extra];
  return { binds, devices, env: { ...plan.env }, prependPath, notes };
}
