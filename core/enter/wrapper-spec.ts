// The spec a module wrapper runs: the same PreparedEnvironment as `run`, made once for every
// user of a module tree, so nothing of the preparing caller is in it. Host variables are passed
// by name at run time (env-pass), and no PID namespace is made, so the launcher becomes the
// command as a native command would be (same PID for srun, debuggers and job accounting).

import { composeEnvironment, passesFromHost } from '../environment/compose.js';
import type { LaunchSpec } from '../runtime/spec.js';
import { imageLease, imageSpec, type PreparedEnvironment } from './prepared.js';

/** Host variables the wrappers copy in at run time by exact name (the launcher has no prefixes). */
export const WRAPPER_ENV_PASS = [
  'TERM', 'COLORTERM', 'NO_COLOR', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LANGUAGE', 'TZ', 'DISPLAY', 'TMPDIR',
  'http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY',
  'LC_ALL', 'LC_CTYPE', 'LC_MESSAGES', 'LC_NUMERIC', 'LC_TIME', 'LC_COLLATE',
  'CUDA_VISIBLE_DEVICES', 'ROCR_VISIBLE_DEVICES', 'HIP_VISIBLE_DEVICES',
  'SLURM_JOB_ID', 'SLURM_PROCID', 'SLURM_LOCALID', 'SLURM_NODEID', 'SLURM_NTASKS', 'SLURM_CPUS_PER_TASK', 'SLURM_ARRAY_TASK_ID',
  'OMP_NUM_THREADS',
];

export interface WrapperSpecOptions {
  /** Comment lines naming what the spec was prepared from (module, lock digest). */
  comments?: string[];
  /** Write the `cpu-needs` line (the launcher refuses a CPU that lacks a feature). */
  cpuNeeds?: boolean;
  /** Host directories bound read-only (when they exist) over the home and working-directory binds: the image's store. */
  readOnly?: readonly string[];
  /** The writable store of whoever prepares: an image there is leased by each wrapper's run. */
  writableStore?: string;
}

/** The wrapper spec: no cmd lines (each wrapper passes its command), env sorted for stable bytes. */
export function wrapperSpecFor(prepared: PreparedEnvironment, options: WrapperSpecOptions = {}): LaunchSpec {
  const composed = composeEnvironment({ imageEnv: prepared.imageEnv, host: {}, decl: prepared.edits, markers: prepared.markers });
  const { edits } = prepared;
  const declared = new Set([...Object.keys(edits.env), ...Object.keys(edits.prependPath), ...Object.keys(edits.appendPath), ...edits.unset]);
  // Host values win over the image's, as composeEnvironment orders them; the declaration wins over both.
  const envPass = WRAPPER_ENV_PASS.filter((name) => passesFromHost(name) && !declared.has(name));
  for (const name of envPass) composed.delete(name);
  const names = [...composed.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    ...imageSpec(prepared.image),
    ...(options.writableStore === undefined ? {} : imageLease(prepared.image, options.writableStore)),
    ...(options.comments === undefined ? {} : { comments: options.comments }),
    ...(options.cpuNeeds ? { cpuNeeds: prepared.cpuNeeds } : {}),
    pidNamespace: false,
    binds: [...prepared.binds, ...(options.readOnly ?? []).map((dir) => ({ source: dir, destination: dir, readOnly: true, optional: true }))],
    devices: prepared.devices,
    env: names.map((name) => [name, composed.get(name)!] as const),
    envPass,
  };
}
