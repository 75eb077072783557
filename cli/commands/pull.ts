// `envlock pull`: download exactly the locked blobs into the store, verified as they stream, and
// unpack each chosen image into a read-only root filesystem.

import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CommandSpec } from '../command-spec.js';
import type { Context } from '../../core/context.js';
import { flag } from '../args.js';
import { chooseImage } from '../../core/arch/choose.js';
import { normalisePlatform } from '../../core/declaration/platform.js';
import { selectEnvironments } from '../../core/declaration/select.js';
import { EnvlockError } from '../../core/errors.js';
import { shortDigest } from '../../core/oci/digest.js';
import { hostCpu, loadProject, lockedEnvironment } from '../../core/project.js';
import { platformString, type LockedImage } from '../../lockfiles/index.js';
import { renderTable } from '../output/table.js';
import { formatBytes } from '../output/plain-reporter.js';
import type { PullImageResult } from '../../core/pull/pull-image.js';
import type { ImageSource } from '../../core/source/image-source.js';
import { keepManifestBytes } from '../../core/pull/keep-manifest.js';

interface PullResult {
  store: string;
  environments: (PullImageResult & { name: string })[];
}

/**
 * A project that is a module (ROOT/NAME/VERSION of a tree the shim reads) gets its wrappers and
 * its tree's index prepared again, so `module load` runs exactly what was just pulled.
 */
async function refreshModule(dir: string, store: InstanceType<typeof import('../../core/store/store.js').Store>, ctx: Context): Promise<void> {
  const root = path.dirname(path.dirname(dir));
  const listed = (ctx.env.ENVLOCK_MODULEPATH ?? '').split(':').filter(Boolean).map((p) => path.resolve(ctx.cwd, p));
  if (!listed.includes(root) && !existsSync(path.join(root, '.envlock-index'))) return;
  const [{ refreshModuleDir }, { launcherPath, moduleCacheDir }] = await Promise.all([import('../../core/modules/after-pull.js'), import('./module.js')]);
  const refreshed = await refreshModuleDir(dir, { home: ctx.home, cwd: ctx.cwd, modulePath: ctx.env.ENVLOCK_MODULEPATH, store, launcherPath: launcherPath(ctx), cacheDir: moduleCacheDir(ctx) });
  if (refreshed) ctx.reporter.info(`Prepared module ${refreshed.label}.`);
}

export const command: CommandSpec<PullResult> = {
  name: 'pull',
  summary: 'Download the locked images into the store and unpack them.',
  usage: 'envlock pull [NAME]... [--platform OS/ARCH[/VARIANT]]... [--all-platforms] [--frozen] [--repair]',
  description: `
Pulls what envlock.lock says, for this host's platform and best CPU variant (or for the platforms
asked). Every blob is verified against its digest while it streams; a rootfs becomes visible only
when complete. Blobs already in any store (ENVLOCK_STORE_RO first) are never downloaded again.
A stale lock is an error (exit 3) unless --frozen.`,
  flags: [
    { name: 'platform', type: 'list', valueName: 'OS/ARCH[/VARIANT]', description: 'Pull the locked images of this platform instead of the host\'s.' },
    { name: 'all-platforms', type: 'boolean', description: 'Pull every locked image of every platform and variant.' },
    { name: 'frozen', type: 'boolean', description: 'Use envlock.lock as it is, even if the declaration changed since.' },
    { name: 'repair', type: 'boolean', description: 'Verify what the store has of these images first and fetch again whatever is damaged.' },
  ],
  positionals: [{ name: 'NAME', description: 'Environments to pull (default: all).', variadic: true }],
  examples: ['envlock pull', 'envlock pull analysis', 'envlock pull --all-platforms'],
  async run(args, ctx) {
    const project = await loadProject(ctx, { command: 'pull', frozen: flag.bool(args, 'frozen') });
    const envs = selectEnvironments(project.decl, args.positionals);
    const platforms = flag.list(args, 'platform').map((p) => normalisePlatform(p));
    const all = flag.bool(args, 'all-platforms');
    const host = all || platforms.length > 0 ? undefined : await hostCpu();
    const [{ Store }, { pullImage }, { openSources }, { registerLockfile }] = await Promise.all([
      import('../../core/store/store.js'),
      import('../../core/pull/pull-image.js'),
      import('../../core/resolve/open-source.js'),
      import('../../core/store/registry.js'),
    ]);
    const store = Store.open(ctx);
    const sources = await openSources(ctx);
    const results: PullResult['environments'] = [];
    try {
      for (const env of envs) {
        const locked = lockedEnvironment(project, env.name);
        let images: LockedImage[];
        if (all) images = locked.images;
        else if (platforms.length > 0) images = locked.images.filter((i) => platforms.some((p) => platformString(i.platform) === p || platformString(i.platform).startsWith(`${p}/`)));
        else images = [chooseImage(locked.images, host!, { environment: env.name }).image];
        if (images.length === 0) {
          throw new EnvlockError('PLATFORM_UNAVAILABLE', `envlock.lock has no image of \`${env.name}\` for ${platforms.join(', ')}.`, { hint: 'Add the platform to `platforms:` and run `envlock lock`.' });
        }
        let opened: Promise<ImageSource> | undefined;
        const source = () => (opened ??= sources.open(locked.reference, project.dir).then((o) => o.image));
        for (const image of images) {
          if (flag.bool(args, 'repair')) await (await import('../../core/pull/repair.js')).repairImage(store, image, ctx.reporter);
          const pulled = await pullImage({ store, image, reference: locked.resolved, ctx, source });
          results.push({ name: env.name, ...pulled });
        }
        // The index's own bytes are kept too (once), so `envlock export` can reproduce it exactly.
        if (locked.index && !ctx.offline) await keepManifestBytes(store, locked.index, source);
      }
    } finally {
      await sources.close();
    }
    const used = project.lock.environments.flatMap((e) => [...(e.index ? [e.index.digest] : []), ...e.images.flatMap((i) => [i.manifest.digest, i.config.digest, ...i.layers.map((l) => l.digest)])]);
    await registerLockfile(store, project.lockPath, used);
    await refreshModule(project.dir, store, ctx);
    const rows = results.map((r) => [r.name, r.platform, shortDigest(r.manifest), r.unpacked ? 'pulled' : 'up to date', r.bytesDownloaded > 0 ? formatBytes(r.bytesDownloaded) : '-']);
    return {
      result: { store: store.root, environments: results },
      text: renderTable(['ENVIRONMENT', 'PLATFORM', 'MANIFEST', 'STATUS', 'DOWNLOADED'], rows),
    };
  },
};
