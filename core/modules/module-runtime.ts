// From a module's lock to its prepared wrappers: the one launch path (prepareEnvironment) for
// the image this host runs, rendered as a wrapper spec, and prepareModuleRuntime.

import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { HostCpu } from '../arch/host.js';
import type { Env } from '../context.js';
import { trustPolicy } from '../enter/store-trust.js';
import { hostCpu } from '../project.js';
import { EnvlockError } from '../errors.js';
import { prepareEnvironment } from '../enter/prepare-environment.js';
import { wrapperSpecFor } from '../enter/wrapper-spec.js';
import type { Store } from '../store/store.js';
import { assertModuleFresh, moduleLabel, type ModuleInfo } from './module-info.js';
import { prepareModuleRuntime, type PreparedRuntime } from './prepare.js';

export { WRAPPER_ENV_PASS } from '../enter/wrapper-spec.js';

export interface ModuleRuntimeOptions {
  store: Store;
  launcherPath: string;
  /** Where to prepare when the module directory is not writable: $XDG_CACHE_HOME/envlock/modules. */
  cacheDir: string;
  /** This host's CPU (default: detected). */
  host?: HostCpu & { os: string };
  /** The caller's variables (ENVLOCK_TRUSTED_UIDS, ENVLOCK_CPU_MASK). */
  env?: Env;
}

export interface PreparedModule extends PreparedRuntime {
  /** As the index records it: relative to the module directory when inside it, else absolute. */
  prepDir: string;
  rootfs: string;
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
  const cpu = options.host ?? (await hostCpu(options.env));
  const env = info.lock.environments.find((e) => e.name === info.environment.name);
  if (env === undefined) throw new EnvlockError('LOCK_STALE', `Module ${label} has no locked environment \`${info.environment.name}\`.`, { hint: `Run \`envlock lock -C ${info.dir}\`.` });
  // The bytes kept beside the spec must be the ones whose digest keyed it: read once, checked.
  const lockBytes = await fs.readFile(info.lockFile);
  if (createHash('sha256').update(lockBytes).digest('hex') !== info.lockHex) {
    throw new EnvlockError('LOCK_STALE', `The lock of module ${label} changed while its wrappers were being prepared.`, { hint: 'Run the command again.' });
  }
  const { prepared } = await prepareEnvironment(
    { dir: info.dir, env: info.environment, locked: env, lockDigest: `sha256:${info.lockHex}` },
    {
      store: options.store,
      host: cpu,
      trust: trustPolicy(options.env ?? {}),
      pullHint: `Run \`envlock pull -C ${info.dir}\` (with ENVLOCK_STORE or ENVLOCK_STORE_RO naming the store the module should use).`,
    },
  ).catch((error: unknown) => {
    if (error instanceof EnvlockError && error.code === 'IMAGE_NOT_PULLED') {
      throw new EnvlockError('IMAGE_NOT_PULLED', `The image of module ${label} (${String(error.details?.manifest)}) is not in any store.`, { hint: error.hint, details: { dir: info.dir, ...error.details } });
    }
    throw error;
  });
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
  const runtime = await prepareModuleRuntime({
    outDir,
    label,
    spec: wrapperSpecFor(prepared),
    commands: info.environment.commands,
    launcherPath: options.launcherPath,
    sources: [info.lockFile, info.declaration.file],
    lockBytes,
    lockDigest: `sha256:${info.lockHex}`,
  });
  return { ...runtime, prepDir, rootfs: prepared.image.path };
}
