// The environment a command sees inside: the image config's Env, a few host variables that
// jobs rely on (terminal, locale, scheduler, MPI), the declaration's modulefile-style edits,
// then --env flags. Order matters and is documented in docs/runtime.md.

import type { EnvironmentDecl } from '../declaration/model.js';
import type { Env } from '../context.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Host variables passed in by name: terminal, identity, locale, time zone, proxies. */
export const PASS_NAMES: ReadonlySet<string> = new Set([
  'TERM', 'COLORTERM', 'NO_COLOR', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LANGUAGE', 'TZ', 'DISPLAY',
  'http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'TMPDIR',
  'CUDA_VISIBLE_DEVICES', 'ROCR_VISIBLE_DEVICES', 'HIP_VISIBLE_DEVICES', 'GPU_DEVICE_ORDINAL',
]);

/** Host variables passed in by prefix: locale categories, batch schedulers, MPI process managers. */
export const PASS_PREFIXES: readonly string[] = ['LC_', 'SLURM_', 'SLURMD_', 'SBATCH_', 'PBS_', 'LSB_', 'PMI_', 'PMIX_', 'OMPI_', 'MPICH_', 'I_MPI_', 'UCX_', 'FI_', 'OMP_'];

export function passesFromHost(name: string): boolean {
  return PASS_NAMES.has(name) || PASS_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** Parses an OCI config Env list ("K=V"); later duplicates win, as execve would see them. */
export function parseEnvList(list: readonly string[] | undefined): Map<string, string> {
  const env = new Map<string, string>();
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq > 0) env.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return env;
}

function joinPath(parts: string[], existing: string | undefined, prepend: boolean): string {
  const added = parts.join(':');
  if (existing === undefined || existing === '') return added;
  return prepend ? `${added}:${existing}` : `${existing}:${added}`;
}

export interface ComposeInput {
  imageEnv: readonly string[] | undefined;
  host: Env;
  decl: Pick<EnvironmentDecl, 'env' | 'prependPath' | 'appendPath' | 'unset'>;
  /** --env K=V from the command line, applied last. */
  overrides?: Record<string, string>;
  /** ENVLOCK_* markers (name, digests, CFLAGS), applied after the declaration. */
  markers?: Record<string, string>;
}

export function composeEnvironment(input: ComposeInput): Map<string, string> {
  const env = parseEnvList(input.imageEnv);
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
  // An index loop over the names, not entries() destructured: run once per start, this loop over
  // the whole host environment (hundreds of variables in a batch job) stays in the interpreter.
  const hostNames = Object.keys(input.host);
  for (let i = 0; i < hostNames.length; i++) {
    const name = hostNames[i]!;
    const value = input.host[name];
    if (value !== undefined && passesFromHost(name)) env.set(name, value);
  }
  for (const [name, value] of Object.entries(input.decl.env)) env.set(name, value);
  for (const [name, parts] of Object.entries(input.decl.prependPath)) env.set(name, joinPath(parts, env.get(name), true));
  for (const [name, parts] of Object.entries(input.decl.appendPath)) env.set(name, joinPath(parts, env.get(name), false));
  for (const name of input.decl.unset) env.delete(name);
  for (const [name, value] of Object.entries(input.markers ?? {})) env.set(name, value);
  for (const [name, value] of Object.entries(input.overrides ?? {})) env.set(name, value);
  return env;
}
