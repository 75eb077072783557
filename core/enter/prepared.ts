// What entering one environment needs once the declaration and lock have been read and the
// image chosen (prepareEnvironment), and the two ways it becomes a launch spec: per invocation
// for run and shell (launchSpecFor), or once for module wrappers (wrapper-spec.ts).

import { existsSync } from 'node:fs';
import type { Context } from '../context.js';
import { composeEnvironment } from '../environment/compose.js';
import { assertEnvironmentFits } from './environment-fits.js';
import { EnvlockError } from '../errors.js';
import { callerName } from '../runtime/caller-name.js';
import type { BindMount, CpuNeeds, DeviceNode, LaunchSpec } from '../runtime/spec.js';
import type { SampledFile } from '../store/image-sample.js';
import { leaseFor } from '../store/lease.js';
import { storeRoots } from '../store/paths.js';

/** Where the image lives: a tree (rootfs directory) or one squashfs file (Decision 2). */
export interface ImageLocation {
  form: 'tree' | 'squashfs';
  path: string;
  /** The store root that holds it. */
  store: string;
  /** The manifest digest it was built from (the lock's). */
  manifest: string;
  /** A tree's sampled files as its meta recorded them, checked at every start (image-sample.ts). */
  sample?: SampledFile[];
}

export interface PreparedEnvironment {
  name: string;
  image: ImageLocation;
  imageEnv: string[];
  entrypoint: string[];
  cmd: string[];
  workingDir?: string;
  /** The declaration's edits, with injected search paths already in front. */
  edits: { env: Record<string, string>; prependPath: Record<string, string[]>; appendPath: Record<string, string[]>; unset: string[] };
  binds: BindMount[];
  devices: DeviceNode[];
  markers: Record<string, string>;
  /** What the chosen variant needs of the CPU (the lock's arch flags). */
  cpuNeeds: CpuNeeds;
  /**
   * Store roots that must stay read-only inside: $HOME and the working directory are bound
   * read-write, so a store under either is bound again, read-only, on top of them.
   */
  protect: string[];
  /** The image and its meta as they were when prepared (find-locked-image.ts imageIdentity). */
  imageStat?: string;
}

/** The per-invocation part: what the command line and the caller add. */
export interface Invocation {
  command: string[];
  binds: BindMount[];
  overrides: Record<string, string>;
  cwd?: string;
  fakeRoot: boolean;
  hostTmp: boolean;
  extraEnv?: Record<string, string>;
}

export function checkBindSources(binds: readonly BindMount[]): void {
  for (const bind of binds) {
    if (!bind.optional && !existsSync(bind.source)) {
      throw new EnvlockError('BIND_INVALID', `The bind source ${bind.source} does not exist on this host.`, { hint: `Create it, or remove the bind to ${bind.destination}.` });
    }
  }
}

/** Whether `dir` is `parent` or lies below it. */
export function isUnder(dir: string, parent: string): boolean {
  return parent !== '' && (dir === parent || dir.startsWith(`${parent.replace(/\/$/, '')}/`));
}

/** The image line of a spec: `rootfs PATH` or `squashfs PATH`. */
export function imageSpec(image: ImageLocation): Pick<LaunchSpec, 'rootfs' | 'squashfs'> {
  return image.form === 'squashfs' ? { squashfs: image.path } : { rootfs: image.path };
}

/**
 * The lease that keeps `gc` off an image of the writable store while the command runs (images
 * of read-only stores need none: nobody who runs them can remove them). Optional, so a caller
 * who may not write that store still runs; such a caller cannot remove its images either.
 */
export function imageLease(image: ImageLocation, writable: string): Pick<LaunchSpec, 'lease'> {
  const lease = leaseFor(image.store, image.manifest, writable);
  return lease === undefined ? {} : { lease: { ...lease, optional: true } };
}

/**
 * The spec for one run or shell. The command runs in the directory the caller is in (or asked
 * for with -C), bound at the same path; `--cwd DIR` names a directory inside instead.
 */
export function launchSpecFor(prepared: PreparedEnvironment, run: Invocation, ctx: Context): { spec: LaunchSpec; argv: string[] } {
  const argv = run.command.length > 0 ? run.command : [...prepared.entrypoint, ...prepared.cmd];
  if (argv.length === 0) {
    throw new EnvlockError('USAGE', `No command was given and the image of \`${prepared.name}\` defines none.`, { hint: `Run \`envlock run ${prepared.name} -- COMMAND [ARGS]\`.` });
  }
  const binds = [...prepared.binds, ...run.binds];
  checkBindSources(binds);
  const cwd = run.cwd ?? (run.command.length === 0 && prepared.workingDir ? prepared.workingDir : ctx.cwd);
  const bindCwd = run.cwd === undefined && cwd === ctx.cwd;
  for (const root of prepared.protect) {
    if (existsSync(root) && (isUnder(root, ctx.home) || (bindCwd && isUnder(root, ctx.cwd)))) binds.push({ source: root, destination: root, readOnly: true });
  }
  const markers = { ...prepared.markers, ...(run.extraEnv ?? {}) };
  const env = composeEnvironment({ imageEnv: prepared.imageEnv, host: ctx.env, decl: prepared.edits, markers, overrides: run.overrides });
  if (ctx.home) env.set('HOME', ctx.home);
  assertEnvironmentFits(prepared.name, env, argv);
  const spec: LaunchSpec = {
    ...imageSpec(prepared.image),
    ...imageLease(prepared.image, storeRoots(ctx).writable),
    binds,
    devices: prepared.devices,
    env: [...env.entries()],
    cwd,
    bindCwd,
    ...(ctx.home && existsSync(ctx.home) ? { home: ctx.home } : {}),
    user: callerName(),
    fakeRoot: run.fakeRoot,
    privateTmp: !run.hostTmp,
  };
  return { spec, argv };
}
