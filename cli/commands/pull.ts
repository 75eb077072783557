// `envlock pull`: download exactly the locked blobs into the store, verified as they stream, and
// unpack each chosen image into a read-only root filesystem.

import type { CommandSpec } from '../command-spec.js';
import type { Context } from '../../core/context.js';
import { flag } from '../args.js';
import { normalisePlatform } from '../../core/declaration/platform.js';
import type { Store } from '../../core/store/store.js';
import { isModuleProject, pullOutcome, pullSnapshot, recordPullPlan, type PullOutcome, type PullRequest } from '../fast/pull-warm.js';

type PullResult = PullOutcome['result'];

/**
 * A project that is a module (ROOT/NAME/VERSION of a tree the shim reads) gets its wrappers and
 * its tree's index prepared again, so `module load` runs exactly what was just pulled.
 */
async function refreshModule(dir: string, store: Store, ctx: Context): Promise<void> {
  if (!isModuleProject(dir, ctx.cwd, ctx.env.ENVLOCK_MODULEPATH)) return;
  const [{ refreshModuleDir }, { launcherPath }, { moduleCacheDir }] = await Promise.all([
    import('../../core/modules/after-pull.js'),
    import('../../core/runtime/launcher-path.js'),
    import('../../core/modules/cache-dir.js'),
  ]);
  const refreshed = await refreshModuleDir(dir, { home: ctx.home, cwd: ctx.cwd, modulePath: ctx.env.ENVLOCK_MODULEPATH, store, launcherPath: launcherPath(ctx.env, ctx.cwd), cacheDir: moduleCacheDir(ctx), env: ctx.env });
  if (refreshed) ctx.reporter.info(`Prepared module ${refreshed.label}.`);
}

export const command: CommandSpec<PullResult> = {
  name: 'pull',
  summary: 'Download the locked images into the store and unpack them.',
  usage: 'envlock pull [NAME]... [--platform OS/ARCH[/VARIANT]]... [--all-platforms] [--frozen] [--repair] [--image-format squashfs|tree|auto]',
  description: `
Pulls what envlock.lock says, for this host's platform and best CPU variant (or for the platforms
asked). Every blob is verified against its digest while it streams; a rootfs becomes visible only
when complete. Blobs already in any store (ENVLOCK_STORE_RO first) are never downloaded again.
Each image is stored as one squashfs file or as a tree (docs/store.md "Image formats"):
--image-format, else ENVLOCK_IMAGE_FORMAT, else the store's store.toml, else auto (squashfs
where this host can mount it unprivileged, tree otherwise; --verbose says which and why).
A stale lock is an error (exit 3) unless --frozen.`,
  flags: [
    { name: 'platform', type: 'list', valueName: 'OS/ARCH[/VARIANT]', description: 'Pull the locked images of this platform instead of the host\'s.' },
    { name: 'all-platforms', type: 'boolean', description: 'Pull every locked image of every platform and variant.' },
    { name: 'frozen', type: 'boolean', description: 'Use envlock.lock as it is, even if the declaration changed since.' },
    { name: 'repair', type: 'boolean', description: 'Verify what the store has of these images first and fetch again whatever is damaged.' },
    { name: 'image-format', type: 'string', valueName: 'FORMAT', choices: ['squashfs', 'tree', 'auto'], description: 'Store images as squashfs files, trees, or whichever this host can use (auto).' },
  ],
  positionals: [{ name: 'NAME', description: 'Environments to pull (default: all).', variadic: true }],
  examples: ['envlock pull', 'envlock pull analysis', 'envlock pull --all-platforms'],
  async run(args, ctx) {
    // What the plan is recorded against, so the next identical pull is answered at once.
    const before = pullSnapshot(ctx);
    const request: PullRequest = { names: args.positionals, platforms: flag.list(args, 'platform'), allPlatforms: flag.bool(args, 'all-platforms'), frozen: flag.bool(args, 'frozen'), imageFormat: flag.str(args, 'image-format') ?? null };
    const { pullProject } = await import('../../core/pull/pull-project.js');
    const { project, store, environments: results, plan } = await pullProject(ctx, {
      names: request.names,
      platforms: request.platforms.map((p) => normalisePlatform(p)),
      allPlatforms: request.allPlatforms,
      frozen: request.frozen,
      repair: flag.bool(args, 'repair'),
      ...(request.imageFormat === null ? {} : { imageFormat: request.imageFormat }),
    });
    await refreshModule(project.dir, store, ctx);
    recordPullPlan(before, ctx, request, plan);
    return pullOutcome(store.root, results);
  },
};
