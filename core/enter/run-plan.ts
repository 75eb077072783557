// Everything `run` and `shell` decide before handing over to the launcher: the prepared
// environment for this host (pulled first if no store has its image) and this invocation's
// spec. Pure decisions; launching is the caller's.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Context } from '../context.js';
import type { EnvironmentDecl } from '../declaration/model.js';
import { EnvlockError } from '../errors.js';
import type { Project } from '../project.js';
import { hostCpu, lockedEnvironment } from '../project.js';
import type { LaunchSpec } from '../runtime/spec.js';
import { Store } from '../store/store.js';
import type { LockedImage } from '../../lockfiles/model.js';
import { platformString } from '../../lockfiles/model.js';
import { prepareEnvironment } from './prepare-environment.js';
import { trustPolicy } from './store-trust.js';
import { launchSpecFor, type Invocation, type PreparedEnvironment } from './prepared.js';

/** An invocation (command empty means the image's Entrypoint + Cmd) of a declared environment. */
export interface RunRequest extends Invocation {
  env: EnvironmentDecl;
}

export interface RunPlan {
  spec: LaunchSpec;
  argv: string[];
  image: LockedImage;
  /** The image's path in the store (a rootfs directory or a squashfs file). */
  rootfs: string;
  injected: string[];
  prepared: PreparedEnvironment;
}

/** What `run` pulls when no store has the image (not with --offline). */
function fetcher(project: Project, env: EnvironmentDecl, store: Store, ctx: Context): ((image: LockedImage) => Promise<void>) | undefined {
  if (ctx.offline) return undefined;
  return async (image) => {
    const { pullImage } = await import('../pull/pull-image.js');
    const { openSources } = await import('../resolve/open-source.js');
    const sources = await openSources(ctx);
    const locked = lockedEnvironment(project, env.name);
    try {
      ctx.reporter.info(`Pulling ${locked.resolved} for ${platformString(image.platform)} first.`);
      await pullImage({ store, image, reference: locked.resolved, ctx, source: async () => (await sources.open(locked.reference, project.dir)).image });
    } finally {
      await sources.close();
    }
    // As pull does: the lockfile that needed the image protects it from gc from now on.
    const { lockfileDigests, registerLockfile } = await import('../store/registry.js');
    await registerLockfile(store, project.lockPath, lockfileDigests(project.lock));
  };
}

export async function planRun(project: Project, request: RunRequest, ctx: Context): Promise<RunPlan> {
  const store = Store.open(ctx);
  const lockDigest = `sha256:${createHash('sha256').update(readFileSync(project.lockPath)).digest('hex')}`;
  const fetchImage = fetcher(project, request.env, store, ctx);
  const { prepared, image, injected } = await prepareEnvironment(
    { dir: project.dir, env: request.env, locked: lockedEnvironment(project, request.env.name), lockDigest },
    {
      store,
      host: await hostCpu(ctx.env),
      ...(fetchImage === undefined ? {} : { fetchImage }),
      pullHint: ctx.offline ? `Run \`envlock pull ${request.env.name}\` while online.` : `Run \`envlock pull ${request.env.name}\`.`,
      inject: { env: ctx.env },
      trust: trustPolicy(ctx.env),
      onSkip: (rejected) => ctx.reporter.warn(`Not using ${rejected.path}: ${rejected.reason}.`),
    },
  ).catch((error: unknown) => {
    // Offline, "not in any store" says why nothing was fetched.
    if (ctx.offline && error instanceof EnvlockError && error.code === 'IMAGE_NOT_PULLED') {
      throw new EnvlockError('IMAGE_NOT_PULLED', `${error.message.replace(/\.$/, '')}, and envlock is offline.`, { hint: error.hint, details: error.details });
    }
    throw error;
  });
  const { spec, argv } = launchSpecFor(prepared, request, ctx);
  return { spec, argv, image, rootfs: prepared.image.path, injected, prepared };
}
