// Unpacks layer files through one destination and reports the outcome as JSON: called in-process
// for tests as root, and bundled and run as `nobody` (runuser) for the unprivileged half of the
// matrix, so both run exactly the same code.

import { createReadStream, readFileSync } from 'node:fs';
import { silentReporter, type Reporter } from '../../core/context.js';
import { EnvlockError } from '../../core/errors.js';
import { applyLayer, type ApplyLayerResult } from '../../core/unpack/apply-layer.js';
import { ImageApplier } from '../../core/unpack/image-applier.js';
import type { DecodeLimits } from '../../core/unpack/limits.js';
import type { LayerCompression } from '../../core/oci/media-types.js';
import { destination } from './unpack-destinations.js';

export interface LayerRequest {
  file: string;
  compression: LayerCompression;
  /** Read in chunks this small, so parsing crosses chunk boundaries. */
  chunkSize: number;
  maxBytes?: number;
  maxEntries?: number;
  limits?: DecodeLimits;
  expectedDiffId?: string;
  layerName?: string;
}

export interface UnpackRequest {
  rootfs: string;
  destination: string;
  layers: LayerRequest[];
}

export interface UnpackError {
  code: string;
  message: string;
  hint: string | undefined;
  exitCode: number;
}

export type UnpackOutcome =
  | { ok: true; results: ApplyLayerResult[]; treeDigest: string; info: string[]; warn: string[]; ms: number }
  | { ok: false; error: UnpackError; info: string[]; warn: string[]; ms: number };

export async function runUnpack(request: UnpackRequest): Promise<UnpackOutcome> {
  const info: string[] = [];
  const warn: string[] = [];
  const reporter: Reporter = { ...silentReporter, info: (m) => info.push(m), warn: (m) => warn.push(m) };
  const started = Date.now();
  const sink = await destination(request.destination).sink(request.rootfs);
  const applier = new ImageApplier(sink, { layer: 'the image' });
  const results: ApplyLayerResult[] = [];
  try {
    for (const layer of request.layers) {
      const { file, chunkSize, ...options } = layer;
      results.push(await applyLayer(applier, createReadStream(file, { highWaterMark: chunkSize }), { ...options, reporter }));
    }
    const { treeDigest } = await applier.finish();
    return { ok: true, results, treeDigest, info, warn, ms: Date.now() - started };
  } catch (error) {
    await sink.abort().catch(() => undefined);
    if (!(error instanceof EnvlockError)) throw error;
    return { ok: false, error: { code: error.code, message: error.message, hint: error.hint, exitCode: error.exitCode }, info, warn, ms: Date.now() - started };
  }
}

// As a program (bundled): node unpack-runner.mjs REQUEST.json, prints the outcome.
if (process.argv[1]?.endsWith('unpack-runner.mjs') === true) {
  const request = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as UnpackRequest;
  runUnpack(request).then(
    (outcome) => process.stdout.write(JSON.stringify(outcome)),
    (error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 70;
    },
  );
}
