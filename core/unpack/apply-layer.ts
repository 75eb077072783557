// applyLayer: streams one layer blob through the applier: decompress (bounded, off the main
// thread), hash the tar stream (the DiffID), read it as Go's archive/tar does, and let the
// applier decide every entry. Layers are applied in order onto one ImageApplier.

import { createHash } from 'node:crypto';
import { addAbortSignal, type Readable } from 'node:stream';
import type { Reporter } from '../context.js';
import { EnvlockError } from '../errors.js';
import type { LayerCompression } from '../oci/media-types.js';
import { shortDigest } from '../oci/digest.js';
import { ByteSource } from './byte-source.js';
import { DecompressError, decompressed } from './decompress.js';
import type { ImageApplier } from './image-applier.js';
import { DEFAULT_MAX_BYTES, DEFAULT_MAX_ENTRIES, DEFAULT_MAX_EXPANSION, DEFAULT_ZSTD_WINDOW_LOG_MAX, type DecodeLimits } from './limits.js';
import { summarise } from './summary.js';
import { TarReader } from './tar-reader.js';
import { corrupt, fsFailure, interrupted, readFailure, tooLarge, type LayerLabel } from './unpack-errors.js';

export { DEFAULT_MAX_BYTES, DEFAULT_MAX_ENTRIES };

export interface ApplyLayerOptions {
  compression: LayerCompression;
  /** Bound on the uncompressed size, holes of sparse files included (LAYER_TOO_LARGE); default 64 GiB. */
  maxBytes?: number;
  /** Bound on the number of entries; default 2,000,000. */
  maxEntries?: number;
  /** Expansion and zstd window limits (limits.ts decodeLimits); defaults when absent. */
  limits?: DecodeLimits;
  reporter: Reporter;
  signal?: AbortSignal;
  /** The config's rootfs.diff_ids entry; a mismatch is DIFF_ID_MISMATCH. */
  expectedDiffId?: string;
  /** How messages name the layer, e.g. "layer 2 of ubuntu:24.04 (sha256:…)". */
  layerName?: string;
}

export interface ApplyLayerResult {
  /** sha256 of the uncompressed tar stream. */
  diffId: string;
  entries: number;
  /** Uncompressed bytes read. */
  bytes: number;
  /** Summary lines (skipped devices, dropped setuid bits, …), already sent to the reporter. */
  warnings: string[];
}

const DEFAULT_LIMITS: DecodeLimits = { maxExpansion: DEFAULT_MAX_EXPANSION, zstdWindowLogMax: DEFAULT_ZSTD_WINDOW_LOG_MAX };

/**
 * Applies one layer on top of what the applier holds (lower layers, in order). On any error the
 * destination is partly written and must be discarded (the applier's abort(), then the caller).
 */
export async function applyLayer(applier: ImageApplier, input: Readable, options: ApplyLayerOptions): Promise<ApplyLayerResult> {
  const layer = options.layerName ?? (options.expectedDiffId ? `layer ${shortDigest(options.expectedDiffId)}` : 'the layer');
  applier.beginLayer(layer);
  const label: LayerLabel = applier.label;
  const { signal } = options;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const task = options.reporter.task(`unpacking ${layer}`);
  if (signal !== undefined) addAbortSignal(signal, input);
  // Errors of the input stream are read failures, told apart from errors of the destination.
  let inputError: unknown;
  input.on('error', (error) => {
    inputError ??= error;
  });
  const hash = createHash('sha256');
  let bytes = 0;
  let entries = 0;
  applier.holeBytes = 0;
  let head = Buffer.alloc(0);
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of decompressed(input, options.compression, options.limits ?? DEFAULT_LIMITS, label)) {
      if (head.length < 4) {
        // The first bytes may arrive split over several chunks.
        head = Buffer.concat([head, chunk.subarray(0, 4 - head.length)]);
        assertPlainTar(head, label);
      }
      bytes += chunk.length;
      if (bytes + applier.holeBytes > maxBytes) throw tooLarge(label, `it expands to more than ${maxBytes} bytes`);
      hash.update(chunk);
      task.advance(chunk.length);
      if (signal?.aborted) throw interrupted(label);
      yield chunk;
    }
  }
  const source = new ByteSource(counted());
  const reader = new TarReader(source, label);
  try {
    for (let member = await reader.next(); member !== undefined; member = await reader.next()) {
      if (signal?.aborted) throw interrupted(label);
      if (++entries > maxEntries) throw tooLarge(label, `it has more than ${maxEntries} entries`);
      applier.maxHoleBytes = maxBytes - bytes;
      await applier.apply(member, reader);
    }
    // Bytes after the end-of-archive marker are part of the DiffID too.
    await source.drain();
    const diffId = `sha256:${hash.digest('hex')}`;
    if (options.expectedDiffId !== undefined && options.expectedDiffId !== diffId) {
      throw new EnvlockError('DIFF_ID_MISMATCH', `The uncompressed content of ${label.layer} has digest ${diffId}, but the image config says ${options.expectedDiffId}.`, {
        hint: 'Pull the image again; if it fails again, the image is damaged or was tampered with.',
        details: { layer: label.layer, expected: options.expectedDiffId, actual: diffId },
      });
    }
    const lines = summarise(applier.notes);
    for (const line of lines) options.reporter[line.level](line.text);
    task.done(`${entries} entries`);
    return { diffId, entries, bytes, warnings: lines.map((line) => line.text) };
  } catch (error) {
    input.destroy();
    task.fail();
    if (error === inputError) throw signal?.aborted ? interrupted(label) : readFailure(label, error);
    throw translate(error, label, signal, applier.current, applier.sink.location ?? 'the image');
  }
}

/** A tar stream that begins like a compressed one is a mislabelled media type: refuse it. */
function assertPlainTar(head: Buffer, label: LayerLabel): void {
  const gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  const zstd = head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528;
  if (gzip || zstd) throw corrupt(label, 'its uncompressed content is itself compressed (mislabelled media type)');
}

function translate(error: unknown, label: LayerLabel, signal: AbortSignal | undefined, entry: string, where: string): unknown {
  if (error instanceof EnvlockError) return error;
  if (signal?.aborted || (error as { name?: string } | undefined)?.name === 'AbortError') return interrupted(label);
  if (error instanceof DecompressError) return corrupt(label, error.message, error);
  return fsFailure(label, entry, where, error);
}
