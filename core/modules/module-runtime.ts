// From a module's lock to its prepared wrappers: the one launch path (prepareEnvironment) for
// every locked variant a store holds, each rendered as a wrapper spec the launcher may pick per
// node, checked for what other users of a shared tree can reach, and prepareModuleRuntime.

import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { HostCpu } from '../arch/host.js';
import type { Env } from '../context.js';
import { trustPolicy } from '../enter/store-trust.js';
import { hostCpu } from '../project.js';
import { EnvlockError, errnoCode } from '../errors.js';
import { prepareEnvironment, type EnvironmentSource, type PrepareOptions } from '../enter/prepare-environment.js';
import type { PreparedEnvironment } from '../enter/prepared.js';
import { better } from '../arch/choose.js';
import type { LaunchSpec } from '../runtime/spec.js';
import { launcherFeatures } from '../runtime/launcher-features.js';
import { platformString, type LockedImage } from '../../lockfiles/model.js';
import { wrapperSpecFor } from '../enter/wrapper-spec.js';
import type { Store } from '../store/store.js';
import { assertModuleFresh, moduleLabel, type ModuleInfo } from './module-info.js';
import { prepareModuleRuntime, type PreparedRuntime } from './prepare.js';
import { ensureTrustedDir } from './trusted-dir.js';
import { environmentForAnyUser, splitHomeBinds } from './home-binds.js';
import { assertImageShared, reachableByAll, sharedLauncher } from './shared-paths.js';

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

/**
 * Whether to prepare inside the module (ROOT/NAME/VERSION/.envlock): when the caller may make or
 * write it. One that someone else could redirect (a planted symlink, another user's directory)
 * is MODULE_TREE_INVALID rather than written through (trusted-dir.ts).
 */
async function writable(dir: string): Promise<boolean> {
  try {
    await fs.access(dir, fs.constants.W_OK);
  } catch (error) {
    // Not ours to write (a tree the caller only reads): prepared in the caller's cache instead.
    if (errnoCode(error) !== 'ENOENT') return false;
  }
  try {
    await ensureTrustedDir(dir);
    return true;
  } catch (error) {
    if (error instanceof EnvlockError) throw error;
    return false;
  }
}

/**
 * The spec of one variant: it carries the `arch` and `cpu-needs` lines it was chosen for, and
 * binds the store that holds its image read-only over the home and working-directory binds, as
 * `run` does (issue 12.7).
 */
function wrapperSpec(prepared: PreparedEnvironment, writableStore: string): { spec: LaunchSpec; perUser: string[] } {
  const readOnly = [prepared.image.store];
  const spec = wrapperSpecFor(prepared, { cpuNeeds: true, readOnly, writableStore });
  const { kept, perUser } = splitHomeBinds(spec.binds ?? [], readOnly);
  return { spec: { ...spec, binds: kept }, perUser };
}

/**
 * Every locked variant whose image a store holds (and trusts), best first: the prepared form is
 * keyed by the lock, and holds what each node may choose from, so a module prepared on a newer
 * node runs the variant an older node can execute, or is refused there by the launcher with
 * the features it lacks, never with `Illegal instruction` (issue 12.6).
 */
async function variantsInStores(
  source: EnvironmentSource,
  chosen: LockedImage,
  prepared: PreparedEnvironment,
  options: Pick<PrepareOptions, 'store' | 'trust'>,
): Promise<{ image: LockedImage; prepared: PreparedEnvironment }[]> {
  const ordered = [...source.locked.images].sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0));
  const found: { image: LockedImage; prepared: PreparedEnvironment }[] = [];
  for (const image of ordered) {
    if (image === chosen) {
      found.push({ image, prepared });
      continue;
    }
    try {
      found.push({ image, prepared: (await prepareEnvironment(source, { ...options, image })).prepared });
    } catch (error) {
      // A variant no store holds (or trusts) is left out; the launcher names what the node lacks.
      if (!(error instanceof EnvlockError) || !['IMAGE_NOT_PULLED', 'STORE_UNTRUSTED', 'STORE_DAMAGED'].includes(error.code)) throw error;
    }
  }
  return found;
}

/**
 * A wrapper's interpreter line is `LAUNCHER --wrapper`: a launcher older than that option (a
 * site's ENVLOCK_LAUNCHER left at an older build) would fail every wrapper at job time, so the
 * wrappers are not written for it.
 */
export function assertRunsWrappers(launcher: string, label: string): void {
  const features = launcherFeatures(launcher);
  if (features.words?.includes('wrapper')) return;
  const why = features.why !== undefined ? `it could not be run (${features.why})` : features.words === undefined ? 'it predates module wrappers (it has no --features)' : 'it predates module wrappers (its --features does not list `wrapper`)';
  throw new EnvlockError('RUNTIME_UNAVAILABLE', `The wrappers of module ${label} cannot use the launcher ${launcher}: ${why}.`, {
    hint: 'Unset ENVLOCK_LAUNCHER to use the launcher built with this envlock, or install this version\'s launcher in its place.',
    details: { launcher },
  });
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
  // `~` in binds is the home of whoever runs a wrapper, added by the wrapper (home-binds.ts).
  const source = { dir: info.dir, env: await environmentForAnyUser(info), locked: env, lockDigest: `sha256:${info.lockHex}` };
  const trust = trustPolicy(options.env ?? {});
  const { prepared, image: chosen } = await prepareEnvironment(source, {
    store: options.store,
    host: cpu,
    trust,
    pullHint: `Run \`envlock pull -C ${info.dir}\` (with ENVLOCK_STORE or ENVLOCK_STORE_RO naming the store the module should use).`,
  }).catch((error: unknown) => {
    if (error instanceof EnvlockError && error.code === 'IMAGE_NOT_PULLED') {
      throw new EnvlockError('IMAGE_NOT_PULLED', `The image of module ${label} (${String(error.details?.manifest)}) is not in any store.`, { hint: error.hint, details: { dir: info.dir, ...error.details } });
    }
    throw error;
  });
  let variants = await variantsInStores(source, chosen, prepared, { store: options.store, trust });
  const hex = info.lockHex.slice(0, 16);
  const inside = path.join(info.dir, '.envlock');
  let outDir: string;
  let prepDir: string;
  let launcherPath = options.launcherPath;
  if (await writable(inside)) {
    outDir = path.join(inside, hex);
    prepDir = `.envlock/${hex}`;
    // Other users run what is prepared in a tree they can read: nothing private to the caller in it.
    if (reachableByAll(info.dir)) {
      assertImageShared(label, prepared.image.path, prepared.image.store);
      variants = variants.filter((v) => reachableByAll(v.prepared.image.path));
      launcherPath = await sharedLauncher(info.root, options.launcherPath);
    }
  } else {
    const key = createHash('sha256').update(info.dir).digest('hex').slice(0, 16);
    outDir = path.join(options.cacheDir, `${key}-${hex}`);
    prepDir = outDir;
    await fs.mkdir(options.cacheDir, { recursive: true });
  }
  assertRunsWrappers(launcherPath, label);
  const primary = wrapperSpec(prepared, options.store.root);
  const runtime = await prepareModuleRuntime({
    outDir,
    label,
    spec: primary.spec,
    variants: variants.map(({ image, prepared: p }, i) => ({ tag: `${i + 1}-${platformString(image.platform).replaceAll('/', '-')}`, spec: wrapperSpec(p, options.store.root).spec })),
    homeLines: primary.perUser,
    commands: info.environment.commands,
    launcherPath,
    sources: [info.lockFile, info.declaration.file],
    lockBytes,
    lockDigest: `sha256:${info.lockHex}`,
  });
  return { ...runtime, prepDir, rootfs: prepared.image.path };
}
