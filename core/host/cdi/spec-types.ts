// The validated shape of a CDI spec file (CDI SPEC.md "CDI JSON Specification"), as envlock
// keeps it after strict checking: only the edits envlock can apply, each remembering its file.

export interface CdiDeviceNode {
  /** Path inside the container. */
  path: string;
  /** Path on the host; defaults to `path` (spec 0.5.0). */
  hostPath: string;
  type?: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  permissions?: string;
  uid?: number;
  gid?: number;
}

export interface CdiMount {
  hostPath: string;
  containerPath: string;
  options: string[];
  type?: string;
}

export interface CdiHook {
  hookName: string;
  path: string;
  args: string[];
  env: string[];
  timeout?: number;
}

export interface CdiEdits {
  env: string[];
  deviceNodes: CdiDeviceNode[];
  mounts: CdiMount[];
  hooks: CdiHook[];
  additionalGids: number[];
  /** Fields envlock accepts but cannot apply without privileges (intelRdt, netDevices). */
  ignored: string[];
}

export interface CdiDevice {
  name: string;
  edits: CdiEdits;
}

export interface CdiSpec {
  /** Absolute path of the file it came from. */
  file: string;
  /** Index of its directory in the search list: higher wins (CDI pkg/cdi doc "Device Precedence"). */
  priority: number;
  version: string;
  /** vendor.com/class */
  kind: string;
  devices: CdiDevice[];
  edits: CdiEdits;
}

export function emptyEdits(): CdiEdits {
  return { env: [], deviceNodes: [], mounts: [], hooks: [], additionalGids: [], ignored: [] };
}
