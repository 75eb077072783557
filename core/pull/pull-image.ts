// Pulls one locked image into the store: every blob it needs, verified while it streams, then the
// layers applied in order into the image's form (a rootfs tree or one squashfs file, through the
// one applier), which becomes visible only when complete.

import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
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
import { keepManifestBytes } from './keep-manifest.js';
import { mapLimit } from '../map-limit.js';
import { findPulled } from './pulled.js';
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
}

const MIN_PROGRESS = 1024 * 1024;
let sweptOnce: Promise<number> | undefined;

export async function pullImage(input: PullImageInput): Promise<PullImageResult> {
  const { store, image, ctx } = input;
  const platform = platformString(image.platform);
  const format = input.format ?? (await formatPlan(undefined, ctx, store));
  const ready = findPulled(store, image, format.accepted);
  if (ready !== undefined) return ready;
  // Settled before anything is fetched: a forced squashfs this host cannot use fails first (exit 4).
  const { format: form } = await format.choose();
  const result: PullImageResult = { platform, manifest: image.manifest.digest, form, rootfs: '', unpacked: false, downloaded: [], reused: [], bytesDownloaded: 0 };
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
  // The manifest's own bytes are kept too, so `export` and `verify` work offline later.
  await keepManifestBytes(store, image.manifest, source);
  await mapLimit([image.config, ...image.layers], input.concurrency ?? 4, (desc) => fetchBlob(desc, desc === image.config ? 'config' : 'layer'));
  const configPath = findBlob(store, image.config.digest)!;
  const config = JSON.parse(await fs.readFile(configPath, 'utf8')) as { rootfs?: { diff_ids?: string[] } };
  const diffIds = config.rootfs?.diff_ids ?? [];
  const layers = image.layers.map((layer, i) => {
    const compression = layerCompression(layer.mediaType);
    if (compression === undefined) throw new EnvlockError('LAYER_MEDIA_TYPE', `Layer ${shortDigest(layer.digest)} of ${input.reference} has media type ${layer.mediaType}, which envlock cannot unpack.`, { hint: 'Use an image whose layers are tar, tar+gzip or tar+zstd.' });
    const diffId = diffIds[i];
    return {
      // The unpack line counts this blob's bytes against its size (layer-progress.ts).
      open: () => layerProgress(ctx.reporter, i, image.layers.length, layer).wrap(createReadStream(findBlob(store, layer.digest)!)),
      compression,
      layerName: `layer ${i + 1} of ${input.reference} (${shortDigest(layer.digest)})`,
      ...(diffId === undefined ? {} : { expectedDiffId: diffId }),
    };
  });
  const made = { reference: input.reference, config: image.config.digest, layers: image.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })) };
  const unpackOptions = { reporter: quietTasks(ctx.reporter), signal: ctx.signal, limits };
  const onWait = () => ctx.reporter.info(`${input.reference}: waiting for another envlock process that is building this image`);
  let installed: { path: string; created: boolean };
  if (form === 'squashfs') {
    const { installSquashfs } = await import('../store/squashfs-store.js');
    installed = await installSquashfs(store, image.manifest.digest, async (sink) => {
      const { treeDigest } = await unpackImage(sink, layers, unpackOptions);
      return { ...made, treeDigest };
    }, { signal: ctx.signal, onWait });
  } else {
    const [{ installRootfs }, { TreeSink }, { digestImage }] = await Promise.all([import('../store/rootfs-store.js'), import('../unpack/tree-sink.js'), import('../unpack/tree-digest.js')]);
    installed = await installRootfs(store, image.manifest.digest, async (tmp) => {
      const { root, treeDigest } = await unpackImage(new TreeSink(tmp), layers, unpackOptions);
      // The digest's records, kept beside the rootfs for per-file checks (verify-tree.ts): the
      // in-memory tree again, no disk walk.
      const records: Buffer[] = [];
      await digestImage(root, { tee: (bytes) => records.push(Buffer.from(bytes)) });
      return { ...made, treeDigest, treeRecords: Buffer.concat(records) };
    }, { signal: ctx.signal, sealed: true });
  }
  result.rootfs = installed.path;
  result.unpacked = installed.created;
  return result;
}
