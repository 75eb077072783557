// Everything `run` and `shell` decide before handing over to the launcher: the image this host
// runs, its rootfs (pulled if missing), the environment, binds, host injection, working
// directory and command. Pure decisions; launching is the caller's.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { Context } from '../context.js';
import type { EnvironmentDecl } from '../declaration/model.js';
import { chooseImage } from '../arch/choose.js';
import { cflagsFor } from '../arch/microarchs.js';
import { EnvlockError } from '../errors.js';
import type { Project } from '../project.js';
import { hostCpu, lockedEnvironment } from '../project.js';
import type { BindMount, DeviceNode, LaunchSpec } from '../runtime/spec.js';
import type { LockedImage } from '../../lockfiles/model.js';
import { platformString } from '../../lockfiles/model.js';
import { injectionMounts } from './apply-injection.js';
import { launchSpecFor, type Invocation, type PreparedEnvironment } from './prepared.js';

/** An invocation (command empty means the image's Entrypoint + Cmd) of a declared environment. */
export interface RunRequest extends Invocation {
  env: EnvironmentDecl;
}

export interface RunPlan {
  spec: LaunchSpec;
  argv: string[];
  image: LockedImage;
  rootfs: string;
  injected: string[];
  prepared: PreparedEnvironment;
}

interface ImageConfig {
  config?: { Env?: string[]; Entrypoint?: string[] | null; Cmd?: string[] | null; WorkingDir?: string };
}


async function rootfsFor(project: Project, env: EnvironmentDecl, image: LockedImage, ctx: Context): Promise<{ rootfs: string; config: ImageConfig }> {
  const { Store } = await import('../store/store.js');
  const { findBlob, findRootfs } = await import('../store/find.js');
  const store = Store.open(ctx);
  let rootfs = findRootfs(store, image.manifest.digest);
  if (rootfs === undefined) {
    if (ctx.offline) {
      throw new EnvlockError('IMAGE_NOT_PULLED', `The image of \`${env.name}\` for ${platformString(image.platform)} is not in any store, and envlock is offline.`, { hint: `Run \`envlock pull ${env.name}\` while online.` });
    }
    const { pullImage } = await import('../pull/pull-image.js');
    const { openSources } = await import('../resolve/open-source.js');
    const sources = await openSources(ctx);
    const locked = lockedEnvironment(project, env.name);
    try {
      ctx.reporter.info(`Pulling ${locked.resolved} for ${platformString(image.platform)} first.`);
      rootfs = (await pullImage({ store, image, reference: locked.resolved, ctx, source: async () => (await sources.open(locked.reference, project.dir)).image })).rootfs;
    } finally {
      await sources.close();
    }
  }
  const configFile = findBlob(store, image.config.digest);
  // The config blob may have been collected; the rootfs alone still runs, without image defaults.
  const config = configFile === undefined ? {} : (JSON.parse(readFileSync(configFile, 'utf8')) as ImageConfig);
  return { rootfs, config };
}

export async function planRun(project: Project, request: RunRequest, ctx: Context): Promise<RunPlan> {
  const locked = lockedEnvironment(project, request.env.name);
  const { image } = chooseImage(locked.images, await hostCpu(), { environment: request.env.name });
  const { rootfs, config } = await rootfsFor(project, request.env, image, ctx);
  const binds: BindMount[] = request.env.binds.map((b) => ({ source: b.source, destination: b.target, readOnly: b.readOnly }));
  const injected: string[] = [];
  const extraPrepend: Record<string, string[]> = {};
  let extraEnv: Record<string, string> = {};
  const devices: DeviceNode[] = [];
  const host = request.env.host;
  if (host.devices.length > 0 || host.gpu !== 'none' || host.mpi !== 'none' || host.libraries.length > 0) {
    const { planInjection } = await import('../host/plan.js');
    const { checkAbi, librariesInPlan } = await import('../host/abi-check.js');
    const { describePlan } = await import('../host/describe-plan.js');
    const plan = await planInjection(host, { env: ctx.env });
    await checkAbi(librariesInPlan(plan), rootfs);
    const mounts = injectionMounts(plan);
    binds.push(...mounts.binds);
    devices.push(...mounts.devices);
    extraEnv = mounts.env;
    Object.assign(extraPrepend, mounts.prependPath);
    injected.push(...describePlan(plan), ...mounts.notes.map((n) => `note: ${n}`));
  }
  // $HOME and the working directory are bound read-write, and the store usually lives under
  // $HOME: bind it again read-only on top, so nothing inside can alter a verified image.
  const { storeRoots } = await import('../store/paths.js');
  const storeRoot = storeRoots(ctx).writable;
  const under = (dir: string, parent: string) => parent !== '' && (dir === parent || dir.startsWith(`${parent.replace(/\/$/, '')}/`));
  if (existsSync(storeRoot) && (under(storeRoot, ctx.home) || under(storeRoot, ctx.cwd))) binds.push({ source: storeRoot, destination: storeRoot, readOnly: true });
  const lockDigest = `sha256:${createHash('sha256').update(readFileSync(project.lockPath)).digest('hex')}`;
  const prepared: PreparedEnvironment = {
    name: request.env.name,
    rootfs,
    imageEnv: config.config?.Env ?? [],
    entrypoint: config.config?.Entrypoint ?? [],
    cmd: config.config?.Cmd ?? [],
    ...(config.config?.WorkingDir ? { workingDir: config.config.WorkingDir } : {}),
    edits: { env: request.env.env, prependPath: mergePrepend(extraPrepend, request.env.prependPath), appendPath: request.env.appendPath, unset: request.env.unset },
    binds,
    devices,
    markers: {
      ENVLOCK_ENV: request.env.name,
      ENVLOCK_LOCK_DIGEST: lockDigest,
      ENVLOCK_MANIFEST: image.manifest.digest,
      ENVLOCK_MICROARCH: image.arch.microarch ?? image.arch.level ?? platformString(image.platform),
      ENVLOCK_CFLAGS: cflagsFor(image.arch),
      ...extraEnv,
    },
  };
  const { spec, argv } = launchSpecFor(prepared, request, ctx);
  return { spec, argv, image, rootfs, injected, prepared };
}

function mergePrepend(first: Record<string, string[]>, second: Record<string, string[]>): Record<string, string[]> {
  const out: Record<string, string[]> = { ...second };
  for (const [name, dirs] of Object.entries(first)) out[name] = [...dirs, ...(out[name] ?? [])];
  return out;
}
