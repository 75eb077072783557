// From a module's lock to its prepared wrappers: choose the locked image this host runs, find its
// rootfs in the stores, compose the environment the command sees, and call prepareModuleRuntime.

import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { chooseImage } from '../arch/choose.js';
import type { HostCpu } from '../arch/host.js';
import { hostCpu } from '../project.js';
import { composeEnvironment, passesFromHost } from '../environment/compose.js';
import { EnvlockError, errnoCode } from '../errors.js';
import { findBlob } from '../store/blob-store.js';
import { findRootfs } from '../store/rootfs-store.js';
import type { Store } from '../store/store.js';
import { assertModuleFresh, moduleLabel, type ModuleInfo } from './module-info.js';
import { prepareModuleRuntime, type PreparedRuntime } from './prepare.js';

/** Host variables the wrappers copy in at run time by exact name (the launcher has no prefixes). */
export const WRAPPER_ENV_PASS = [
  'TERM', 'COLORTERM', 'NO_COLOR', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LANGUAGE', 'TZ', 'DISPLAY', 'TMPDIR',
  'http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY',
  'LC_ALL', 'LC_CTYPE', 'LC_MESSAGES', 'LC_NUMERIC', 'LC_TIME', 'LC_COLLATE',
  'CUDA_VISIBLE_DEVICES', 'ROCR_VISIBLE_DEVICES', 'HIP_VISIBLE_DEVICES',
  'SLURM_JOB_ID', 'SLURM_PROCID', 'SLURM_LOCALID', 'SLURM_NODEID', 'SLURM_NTASKS', 'SLURM_CPUS_PER_TASK', 'SLURM_ARRAY_TASK_ID',
  'OMP_NUM_THREADS',
];

export interface ModuleRuntimeOptions {
  store: Store;
  launcherPath: string;
  /** Where to prepare when the module directory is not writable: $XDG_CACHE_HOME/envlock/modules. */
  cacheDir: string;
  /** This host's CPU (default: detected). */
  host?: HostCpu & { os: string };
}

export interface PreparedModule extends PreparedRuntime {
  /** As the index records it: relative to the module directory when inside it, else absolute. */
  prepDir: string;
  rootfs: string;
}

async function imageEnv(store: Store, configDigest: string): Promise<string[] | undefined> {
  const file = findBlob(store, configDigest);
  if (file === undefined) return undefined;
  try {
    const config = JSON.parse(await fs.readFile(file, 'utf8')) as { config?: { Env?: unknown } };
    const env = config.config?.Env;
    return Array.isArray(env) ? env.filter((e): e is string => typeof e === 'string') : undefined;
  } catch (error) {
    throw new EnvlockError('STORE_DAMAGED', `Image config ${configDigest} in the store cannot be read: ${errnoCode(error) ?? String(error)}.`, {
      hint: 'Run `envlock verify` and pull the image again.',
      cause: error,
    });
  }
}

async function writable(dir: string): Promise<boolean> {
  try {
    await fs.mkdir(dir, { recursive: true });
    await fs.access(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Prepares (or re-prepares) a module's wrappers; LOCK_STALE / IMAGE_NOT_PULLED when it cannot run. */
export async function prepareModule(info: ModuleInfo, options: ModuleRuntimeOptions): Promise<PreparedModule> {
  assertModuleFresh(info);
  const label = moduleLabel(info);
  const cpu = options.host ?? (await hostCpu());
  const env = info.lock.environments.find((e) => e.name === info.environment.name);
  if (env === undefined) throw new EnvlockError('LOCK_STALE', `Module ${label} has no locked environment \`${info.environment.name}\`.`, { hint: `Run \`envlock lock -C ${info.dir}\`.` });
  const image = chooseImage(env.images, cpu, { environment: info.environment.name }).image;
  const rootfs = findRootfs(options.store, image.manifest.digest);
  if (rootfs === undefined) {
    throw new EnvlockError('IMAGE_NOT_PULLED', `The image of module ${label} (${image.manifest.digest}) is not in any store.`, {
      hint: `Run \`envlock pull -C ${info.dir}\` (with ENVLOCK_STORE or ENVLOCK_STORE_RO naming the store the module should use).`,
      details: { dir: info.dir, manifest: image.manifest.digest, stores: options.store.searchRoots() },
    });
  }
  const composed = composeEnvironment({ imageEnv: await imageEnv(options.store, image.config.digest), host: {}, decl: info.environment });
  const declared = new Set([...Object.keys(info.environment.env), ...Object.keys(info.environment.prependPath), ...Object.keys(info.environment.appendPath), ...info.environment.unset]);
  // Host values win over the image's, as composeEnvironment orders them; the declaration wins over both.
  const envPass = WRAPPER_ENV_PASS.filter((name) => passesFromHost(name) && !declared.has(name));
  for (const name of envPass) composed.delete(name);
  // The bytes kept beside the spec must be the ones whose digest keyed it: read once, checked.
  const lockBytes = await fs.readFile(info.lockFile);
  if (createHash('sha256').update(lockBytes).digest('hex') !== info.lockHex) {
    throw new EnvlockError('LOCK_STALE', `The lock of module ${label} changed while its wrappers were being prepared.`, { hint: 'Run the command again.' });
  }
  const hex = info.lockHex.slice(0, 16);
  const inside = path.join(info.dir, '.envlock');
  let outDir: string;
  let prepDir: string;
  if (await writable(inside)) {
    outDir = path.join(inside, hex);
    prepDir = `.envlock/${hex}`;
  } else {
    const key = createHash('sha256').update(info.dir).digest('hex').slice(0, 16);
    outDir = path.join(options.cacheDir, `${key}-${hex}`);
    prepDir = outDir;
    await fs.mkdir(options.cacheDir, { recursive: true });
  }
  const prepared = await prepareModuleRuntime({
    outDir,
    label,
    rootfs,
    env: composed,
    envPass,
    binds: info.environment.binds,
    commands: info.environment.commands,
    launcherPath: options.launcherPath,
    sources: [info.lockFile, info.declaration.file],
    lockBytes,
    lockDigest: `sha256:${info.lockHex}`,
  });
  return { ...prepared, prepDir, rootfs };
}
