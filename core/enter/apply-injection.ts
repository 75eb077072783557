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
  const notes = [...plan.notes];
  for (const link of plan.symlinks) {
    const target = path.posix.resolve(path.posix.dirname(link.link), link.target);
    const host = byInside.get(target);
    if (host === undefined) {
      notes.push(`symlink ${link.link} -> ${link.target} skipped: its target is not injected (${link.source})`);
      continue;
    }
    if (!byInside.has(link.link)) binds.push({ source: host, destination: link.link, readOnly: true });
  }
  const devices = plan.deviceNodes.map((d) => ({ source: d.hostPath, destination: d.containerPath }));
  const prependPath: Record<string, string[]> = { ...plan.prependPath };
  if (plan.ldcacheFolders.length > 0) prependPath.LD_LIBRARY_PATH = [...(prependPath.LD_LIBRARY_PATH ?? []), ...plan.ldcacheFolders];
  return { binds, devices, env: { ...plan.env }, prependPath, notes };
}
