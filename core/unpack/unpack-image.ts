// unpackImage: applies an image's layers in order through one applier into one destination,
// then finishes it; on any failure the destination is aborted (the caller discards it).

import type { Readable } from 'node:stream';
import type { Reporter } from '../context.js';
import type { LayerCompression } from '../oci/media-types.js';
import { applyLayer, type ApplyLayerResult } from './apply-layer.js';
import { ImageApplier } from './image-applier.js';
import type { ImageNode, ImageSink } from './image-sink.js';
import type { DecodeLimits } from './limits.js';

export interface LayerInput {
  /** Opened when the layer's turn comes, so only one blob is read at a time. */
  open(): Readable;
  compression: LayerCompression;
  /** How messages name the layer, e.g. "layer 2 of ubuntu:24.04 (sha256:…)". */
  layerName: string;
  /** The config's rootfs.diff_ids entry for this layer, when it has one. */
  expectedDiffId?: string;
}

export interface UnpackOptions {
  reporter: Reporter;
  signal?: AbortSignal;
  limits?: DecodeLimits;
}

export interface UnpackedImage<H> {
  root: ImageNode<H>;
  /** docs/security.md "Tree digest", computed from the in-memory tree. */
  treeDigest: string;
  layers: ApplyLayerResult[];
}

export async function unpackImage<H>(sink: ImageSink<H>, layers: readonly LayerInput[], options: UnpackOptions): Promise<UnpackedImage<H>> {
  const applier = new ImageApplier<H>(sink, { layer: 'the image' });
  const results: ApplyLayerResult[] = [];
  try {
    for (const layer of layers) {
      results.push(
        await applyLayer(applier as ImageApplier, layer.open(), {
          compression: layer.compression,
          reporter: options.reporter,
          layerName: layer.layerName,
          ...(options.signal === undefined ? {} : { signal: options.signal }),
          ...(options.limits === undefined ? {} : { limits: options.limits }),
          ...(layer.expectedDiffId === undefined ? {} : { expectedDiffId: layer.expectedDiffId }),
        }),
      );
    }
    const { root, treeDigest } = await applier.finish();
    return { root, treeDigest, layers: results };
  } catch (error) {
    await sink.abort().catch(() => undefined);
    throw error;
  }
}
