// The one way into the runtime (issue 14.1): a locked environment and a host become a
// PreparedEnvironment, from which run, shell, module wrappers, the prepared-run cache and the
// Slurm plugin's per-node prepare all render their launch spec.

import { readFileSync } from 'node:fs';
import type { EnvironmentDecl } from '../declaration/model.js';
import type { Env } from '../context.js';
import { chooseImage } from '../arch/choose.js';
import type { HostCpu } from '../arch/host.js';
import { cflagsFor } from '../arch/microarchs.js';
import { EnvlockError } from '../errors.js';
import { findBlob } from '../store/find.js';
import type { Store } from '../store/store.js';
import type { BindMount, DeviceNode } from '../runtime/spec.js';
import { platformString, type LockedEnvironment, type LockedImage } from '../../lockfiles/model.js';
import { injectionMounts } from './apply-injection.js';
import { findLockedImage, imageIdentity, rejectedError, type RejectedImage } from './find-locked-image.js';
import type { TrustPolicy } from './store-trust.js';
import type { ImageLocation, PreparedEnvironment } from './prepared.js';

/** A locked environment wherever it comes from: a project, a module directory, a Slurm step. */
export interface EnvironmentSource {
  /** The project (or module) directory; relative declaration binds were resolved against it. */
  dir: string;
  env: EnvironmentDecl;
  locked: LockedEnvironment;
  /** "sha256:<hex>" of the lockfile's bytes, shown inside as ENVLOCK_LOCK_DIGEST. */
  lockDigest: string;
}

export interface PrepareOptions {
  store: Store;
  /** The host to choose the best locked variant for (ignored when `image` is given). */
  host?: HostCpu & { os: string };
  /** A locked image chosen by the caller (module wrappers prepare every variant). */
  image?: LockedImage;
  /** Called when no store has the image (run pulls it); without it, IMAGE_NOT_PULLED. */
  fetchImage?: (image: LockedImage) => Promise<void>;
  /** The command to name in IMAGE_NOT_PULLED's hint. */
  pullHint?: string;
  /** Plan host injection (CDI, GPU, MPI, libraries) for this node, with these variables. */
  inject?: { env: Env };
  /** Whose read-only stores are trusted (store-trust.ts trustPolicy). */
  trust: TrustPolicy;
  /** Told when a store entry exists but is not used (a read-only store is skipped). */
  onSkip?: (rejected: RejectedImage) => void;
}

export interface PreparedResult {
  prepared: PreparedEnvironment;
  image: LockedImage;
  /** What host injection added, one line each (for --dry-run). */
  injected: string[];
}

interface ImageConfig {
  config?: { Env?: unknown; Entrypoint?: unknown; Cmd?: unknown; WorkingDir?: unknown };
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

function readConfig(store: Store, digest: string): ImageConfig {
  const file = findBlob(store, digest);
  // The config blob may have been collected; the image alone still runs, without its defaults.
  if (file === undefined) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ImageConfig;
  } catch (error) {
    throw new EnvlockError('STORE_DAMAGED', `The image config ${digest} in the store cannot be read.`, { hint: 'Run `envlock verify`, then `envlock pull --repair`.', cause: error });
  }
}

async function locate(source: EnvironmentSource, image: LockedImage, options: PrepareOptions): Promise<ImageLocation> {
  const first = findLockedImage(options.store, image, options.trust);
  if (first.found !== undefined) return first.found;
  // An entry of the writable store that is not what the lock says is never pulled over silently.
  const own = first.rejected.find((r) => !r.readOnly);
  if (own !== undefined) throw rejectedError(own, image);
  if (options.fetchImage !== undefined) {
    for (const rejected of first.rejected) options.onSkip?.(rejected);
    await options.fetchImage(image);
    const pulled = findLockedImage(options.store, image, options.trust);
    if (pulled.found !== undefined) return pulled.found;
    if (pulled.rejected.length > 0) throw rejectedError(pulled.rejected[pulled.rejected.length - 1]!, image);
  } else if (first.rejected.length > 0) {
    throw rejectedError(first.rejected[0]!, image);
  }
  throw new EnvlockError('IMAGE_NOT_PULLED', `The image of \`${source.env.name}\` for ${platformString(image.platform)} (${image.manifest.digest}) is not in any store.`, {
    hint: options.pullHint ?? `Run \`envlock pull ${source.env.name}\`.`,
    details: { manifest: image.manifest.digest, stores: options.store.searchRoots() },
  });
}

function mergePrepend(first: Record<string, string[]>, second: Record<string, string[]>): Record<string, string[]> {
  const out: Record<string, string[]> = { ...second };
  for (const [name, dirs] of Object.entries(first)) out[name] = [...dirs, ...(out[name] ?? [])];
  return out;
}

export async function prepareEnvironment(source: EnvironmentSource, options: PrepareOptions): Promise<PreparedResult> {
  const { env } = source;
  let image = options.image;
  if (image === undefined) {
    if (options.host === undefined) throw new TypeError('prepareEnvironment needs a host or an image');
    image = chooseImage(source.locked.images, options.host, { environment: env.name }).image;
  }
  const location = await locate(source, image, options);
  const config = readConfig(options.store, image.config.digest).config ?? {};
  const binds: BindMount[] = env.binds.map((b) => ({ source: b.source, destination: b.target, readOnly: b.readOnly }));
  const devices: DeviceNode[] = [];
  const injected: string[] = [];
  let injectedEnv: Record<string, string> = {};
  let injectedPrepend: Record<string, string[]> = {};
  const host = env.host;
  if (options.inject !== undefined && (host.devices.length > 0 || host.gpu !== 'none' || host.mpi !== 'none' || host.libraries.length > 0)) {
    const { planInjection } = await import('../host/plan.js');
    const { checkAbi, librariesInPlan } = await import('../host/abi-check.js');
    const { describePlan } = await import('../host/describe-plan.js');
    const plan = await planInjection(host, { env: options.inject.env });
    await checkAbi(librariesInPlan(plan), location.path);
    const mounts = injectionMounts(plan);
    binds.push(...mounts.binds);
    devices.push(...mounts.devices);
    injectedEnv = mounts.env;
    injectedPrepend = mounts.prependPath;
    injected.push(...describePlan(plan), ...mounts.notes.map((n) => `note: ${n}`));
  }
  const workingDir = typeof config.WorkingDir === 'string' && config.WorkingDir !== '' ? config.WorkingDir : undefined;
  const prepared: PreparedEnvironment = {
    name: env.name,
    image: location,
    imageEnv: strings(config.Env),
    entrypoint: strings(config.Entrypoint),
    cmd: strings(config.Cmd),
    ...(workingDir === undefined ? {} : { workingDir }),
    edits: { env: env.env, prependPath: mergePrepend(injectedPrepend, env.prependPath), appendPath: env.appendPath, unset: env.unset },
    binds,
    devices,
    markers: {
      ENVLOCK_ENV: env.name,
      ENVLOCK_LOCK_DIGEST: source.lockDigest,
      ENVLOCK_MANIFEST: image.manifest.digest,
      ENVLOCK_MICROARCH: image.arch.microarch ?? image.arch.level ?? platformString(image.platform),
      ENVLOCK_CFLAGS: cflagsFor(image.arch),
      ...injectedEnv,
    },
    cpuNeeds: { architecture: image.platform.architecture, features: [...image.arch.features] },
    protect: [...new Set([options.store.root, location.store])],
    imageStat: imageIdentity(location),
  };
  return { prepared, image, injected };
}
