// Pulling a project's locked images for this host (or the platforms asked): what `envlock pull`
// does, callable from core (module publish pulls an image no store has yet).

import type { Context } from '../context.js';
import { chooseImage } from '../arch/choose.js';
import { selectEnvironments } from '../declaration/select.js';
import { EnvlockError } from '../errors.js';
import { hostCpu, loadProject, lockedEnvironment, type Project } from '../project.js';
import type { ImageSource } from '../source/image-source.js';
import type { Store } from '../store/store.js';
import { platformString, type LockedImage } from '../../lockfiles/index.js';
import { lockfileDigests } from '../store/registry.js';
import { keepManifestBytes } from './keep-manifest.js';
import type { PullPlan, PulledEnvironment } from './warm-pull.js';
import { quoted } from '../shown.js';

export type { PullPlan } from './warm-pull.js';

export interface PullProjectOptions {
  /** Environments to pull (default: all). */
  names?: string[];
  /** Normalised platforms to pull instead of the host's best variant. */
  platforms?: string[];
  allPlatforms?: boolean;
  frozen?: boolean;
  repair?: boolean;
  /** --image-format (squashfs, tree or auto); else ENVLOCK_IMAGE_FORMAT, the store's setting, auto. */
  imageFormat?: string;
}

export interface PullProjectResult {
  project: Project;
  store: Store;
  environments: PulledEnvironment[];
}

function imagesToPull(images: LockedImage[], name: string, options: PullProjectOptions, host: Awaited<ReturnType<typeof hostCpu>> | undefined): LockedImage[] {
  if (options.allPlatforms) return images;
  const platforms = options.platforms ?? [];
  if (platforms.length === 0) return [chooseImage(images, host!, { environment: name }).image];
  const chosen = images.filter((i) => platforms.some((p) => platformString(i.platform) === p || platformString(i.platform).startsWith(`${p}/`)));
  if (chosen.length === 0) {
    throw new EnvlockError('PLATFORM_UNAVAILABLE', `envlock.lock has no image of ${quoted(name)} for ${platforms.join(', ')}.`, { hint: 'Add the platform to `platforms:` and run `envlock lock`.' });
  }
  return chosen;
}

export async function planPull(ctx: Context, options: PullProjectOptions = {}): Promise<{ project: Project; plan: PullPlan }> {
  const project = await loadProject(ctx, { command: 'pull', frozen: options.frozen ?? false });
  const envs = selectEnvironments(project.decl, options.names ?? []);
  const host = options.allPlatforms || (options.platforms ?? []).length > 0 ? undefined : await hostCpu(ctx.env);
  const entries = envs.map((env) => {
    const locked = lockedEnvironment(project, env.name);
    const images = imagesToPull(locked.images, env.name, options, host);
    return { name: env.name, reference: locked.reference, resolved: locked.resolved, images, ...(locked.index ? { index: locked.index } : {}) };
  });
  const used = lockfileDigests(project.lock);
  return { project, plan: { dir: project.dir, lockPath: project.lockPath, entries, used } };
}

export async function pullProject(ctx: Context, options: PullProjectOptions = {}): Promise<PullProjectResult & { plan: PullPlan }> {
  const { project, plan } = await planPull(ctx, options);
  const [{ Store }, { pullImage }, { openSources }, { registerLockfile }] = await Promise.all([
    import('../store/store.js'),
    import('./pull-image.js'),
    import('../resolve/open-source.js'),
    import('../store/registry.js'),
  ]);
  const store = Store.open(ctx);
  const format = await (await import('./format-plan.js')).formatPlan(options.imageFormat, ctx, store);
  plan.forms = format.accepted;
  const sources = await openSources(ctx);
  const environments: PullProjectResult['environments'] = [];
  try {
    for (const entry of plan.entries) {
      let opened: Promise<ImageSource> | undefined;
      const source = () => (opened ??= sources.open(entry.reference, project.dir).then((o) => o.image));
      for (const image of entry.images) {
        if (options.repair) {
          const [{ repairImage }, { lockedImageContent }] = await Promise.all([import('./repair.js'), import('./locked-manifest.js')]);
          await repairImage({ store, image, reporter: ctx.reporter, env: ctx.env, confirmLock: () => lockedImageContent(store, image, source, entry.resolved) });
        }
        // After a repair, every blob of the image is made present again, not only a missing image.
        const pulled = await pullImage({ store, image, reference: entry.resolved, ctx, source, format, allBlobs: options.repair === true });
        environments.push({ name: entry.name, ...pulled });
      }
      if (entry.index && options.repair) await (await import('./repair.js')).removeDamagedBlobs(store, [entry.index], ctx.reporter);
      // The index's own bytes are kept too (once), so `envlock export` can reproduce it exactly.
      if (entry.index && !ctx.offline) await keepManifestBytes(store, entry.index, source);
    }
  } finally {
    await sources.close();
  }
  await registerLockfile(store, plan.lockPath, plan.used);
  return { project, store, environments, plan };
}
