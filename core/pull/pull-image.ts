// Pulls one locked image into the store: every blob its verified manifest names (a lock that
// lists other ones is refused), verified while it streams, then the layers applied in order into the image's form (a rootfs tree or one squashfs file, through the
// one applier), which becomes visible only when complete.

import { createReadStream } from 'node:fs';
import type { Context } from '../context.js';
import { EnvlockError, isEnvlockError } from '../errors.js';
import { shortDigest } from '../oci/digest.js';
import { layerCompression } from '../oci/media-types.js';
import type { ImageSource } from '../source/image-source.js';
import type { Store } from '../store/store.js';
import type { Descriptor, LockedImage } from '../../lockfiles/model.js';
import { platformString } from '../../lockfiles/model.js';
import { withBlobRetries } from './retry-blob.js';
import { TransferTask } from './transfer-task.js';
import { layerProgress, quietTasks } from './layer-progress.js';
import { formatBytes } from '../format-bytes.js';
import { mapLimit } from '../map-limit.js';
import { rejectedError } from '../enter/find-locked-image.js';
import { lockedImageContent, readVerifiedBlob } from './locked-manifest.js';
import { lookupPulled, pulledResult } from './pulled.js';
import { formatPlan, type FormatPlan } from './format-plan.js';
import type { ImageForm } from '../store/find.js';

export interface PullImageResult {
  platform: string;
  manifest: string;
  /** The image's form in the store. */
  form: ImageForm;
  /** Where the image is: the rootfs directory (tree) or the .sqfs file (squashfs). */
  rootfs: string;
  /** Whether this call built the image (false: a store already had it). */
  unpacked: boolean;
  downloaded: string[];
  reused: string[];
  bytesDownloaded: number;
}

export interface PullImageInput {
  store: Store;
  image: LockedImage;
  /** For messages and the rootfs metadata. */
  reference: string;
  /** Opened only when something is missing, so a warm pull touches no network. */
  source: () => Promise<ImageSource>;
  ctx: Context;
  /** Blobs fetched at once. */
  concurrency?: number;
  /** The image format of this pull (default: the setting of ctx.env and the store, formatPlan). */
  format?: FormatPlan;
  /**
   * Make every blob of the image present (verified as it streams) even when the image already
   * is: `pull --repair` after damaged blobs were removed, so `export` and `verify` work again.
   */
  allBlobs?: boolean;
}

const MIN_PROGRESS = 1024 * 1024;
let sweptOnce: Promise<number> | undefined;

export async function pullImage(input: PullImageInput): Promise<PullImageResult> {
  const { store, image, ctx } = input;
  const platform = platformString(image.platform);
  const format = input.format ?? (await formatPlan(undefined, ctx, store));
  const lookup = lookupPulled(store, image, format.accepted, ctx.env);
  const ready = lookup.found === undefined ? undefined : pulledResult(image, lookup.found);
  if (ready !== undefined && input.allBlobs !== true) return ready;
  if (ready === undefined) {
    // An entry of the writable store that is not what the lock says is never built over
    // silently (`pull --repair` removes it first); one of a read-only store is passed over.
    const own = lookup.rejected.find((r) => !r.readOnly);
    if (own !== undefined) throw rejectedError(own, image);
    for (const rejected of lookup.rejected) ctx.reporter.warn(`Not using ${rejected.path}: ${rejected.reason}.`);
  }
  // Settled before anything is fetched: a forced squashfs this host cannot use fails first (exit 4).
  const form = ready?.form ?? (await format.choose()).format;
  const result: PullImageResult = ready ?? { platform, manifest: image.manifest.digest, form, rootfs: '', unpacked: false, downloaded: [], reused: [], bytesDownloaded: 0 };
  // Only a cold pull pays for the downloader and the unpacker (start-up budget, STYLE.md).
  const [{ findBlob, ingestBlob }, { unpackImage }, { decodeLimits }] = await Promise.all([
    import('../store/blob-store.js'),
    import('../unpack/unpack-image.js'),
    import('../unpack/limits.js'),
  ]);
  const limits = decodeLimits(ctx.env);
  // Locks a killed pull left behind are cleared by the next one that has work (issue 13.7).
  sweptOnce ??= import('../store/lock.js').then(({ sweepStaleLocks }) => sweepStaleLocks(store)).catch(() => 0);
  await sweptOnce;
  let opened: Promise<ImageSource> | undefined;
  const source = () => (opened ??= input.source());
  const fetchBlob = async (desc: Descriptor, what: string) => {
    const label = `${what} ${shortDigest(desc.digest)}`;
    // Shown only once bytes move; counts every attempt's bytes, never one twice (13.7).
    const task = new TransferTask(ctx.reporter, label, desc.size);
    try {
      const got = await withBlobRetries(
        async () => ingestBlob(store, desc, async (offset, signal) => {
          const s = await source();
          return s.openBlob(desc.digest, offset, signal ?? ctx.signal, desc.size);
        }, { task, signal: ctx.signal, onWait: () => ctx.reporter.info(`${label}: waiting for another envlock process that is downloading it`) }),
        {
          signal: ctx.signal,
          progress: () => task.highWater,
          // A try that brings less than 1 MiB is no progress: a registry that keeps cutting the
          // answer shorter is given up on, one that cuts it every few megabytes is not.
          minProgress: Math.min(MIN_PROGRESS, desc.size),
          onRetry: (error) => ctx.reporter.warn(`${label}: ${error.message} Retrying${task.highWater > 0 ? ` from ${formatBytes(task.highWater)}` : ''}.`),
        },
      );
      (got.downloaded ? result.downloaded : result.reused).push(desc.digest);
      result.bytesDownloaded += task.transferred;
    } catch (error) {
      result.bytesDownloaded += task.transferred;
      task.fail(isEnvlockError(error) ? error.code : undefined);
      throw error;
    }
  };
  // What is fetched and unpacked comes from the manifest's verified bytes, which are kept so
  // `export` and `verify` work offline later; a lock that lists anything else is refused (12.1).
  const content = await lockedImageContent(store, image, source, input.reference);
  await mapLimit([content.config, ...content.layers], input.concurrency ?? 4, (desc) => fetchBlob(desc, desc === content.config ? 'config' : 'layer'));
  if (ready !== undefined) return result;
  const config = JSON.parse((await readVerifiedBlob(store, content.config.digest, 'image config')).toString('utf8')) as { rootfs?: { diff_ids?: unknown } };
  const diffIds = Array.isArray(config.rootfs?.diff_ids) ? (config.rootfs.diff_ids as unknown[]) : [];
  // containerd refuses an image whose config and manifest count different layers; so does envlock.
  if (diffIds.length !== content.layers.length || diffIds.some((d) => typeof d !== 'string')) {
    throw new EnvlockError('REGISTRY_PROTOCOL', `The config of ${input.reference} lists ${diffIds.length} diff_ids for ${content.layers.length} layers.`, { hint: 'The image is malformed; rebuild or re-push it.' });
  }
  const layers = content.layers.map((layer, i) => {
    const compression = layerCompression(layer.mediaType);
    if (compression === undefined) throw new EnvlockError('LAYER_MEDIA_TYPE', `Layer ${shortDigest(layer.digest)} of ${input.reference} has media type ${layer.mediaType}, which envlock cannot unpack.`, { hint: 'Use an image whose layers are tar, tar+gzip or tar+zstd.' });
    return {
      // The unpack line counts this blob's bytes against its size (layer-progress.ts).
      open: () => layerProgress(ctx.reporter, i, content.layers.length, layer).wrap(createReadStream(findBlob(store, layer.digest)!)),
      compression,
      layerName: `layer ${i + 1} of ${input.reference} (${shortDigest(layer.digest)})`,
      expectedDiffId: diffIds[i] as string,
    };
  });
  // The meta record says what the image was really built from: the manifest's config and layers.
  const made = { reference: input.reference, config: content.config.digest, layers: content.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })) };
  const unpackOptions = { reporter: quietTasks(ctx.reporter), signal: ctx.signal, limits };
  const onWait = () => ctx.reporter.info(`${input.reference}: waiting for another envlock process that is building this image`);
  let installed: { path: string; created: boolean };
  if (form === 'squashfs') {
    const { installSquashfs } = await import('../store/squashfs-store.js');
    installed = await installSquashfs(store, image.manifest.digest, async (sink) => {
      const { treeDigest } = await unpackImage(sink, layers, unpackOptions);
      return { ...made, treeDigest };
    }, { signal: ctx.signal, onWait, ownStoreOnly: true });
  } else {
    const [{ installRootfs }, { TreeSink }, { digestImage }, { pickSample }] = await Promise.all([import('../store/rootfs-store.js'), import('../unpack/tree-sink.js'), import('../unpack/tree-digest.js'), import('../store/image-sample.js')]);
    installed = await installRootfs(store, image.manifest.digest, async (tmp) => {
      const { root, treeDigest } = await unpackImage(new TreeSink(tmp), layers, unpackOptions);
      // The digest's records, kept beside the rootfs for per-file checks (verify-tree.ts): the
      // in-memory tree again, no disk walk.
      const records: Buffer[] = [];
      await digestImage(root, { tee: (bytes) => records.push(Buffer.from(bytes)) });
      return { ...made, treeDigest, treeRecords: Buffer.concat(records), sample: pickSample(root, tmp) };
    }, { signal: ctx.signal, sealed: true, ownStoreOnly: true });
  }
  result.rootfs = installed.path;
  result.unpacked = installed.created;
  return result;
}
