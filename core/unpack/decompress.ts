// Turns a layer blob stream into its uncompressed tar bytes. gzip and zstd are decoded by the
// native addon on libuv's thread pool, a bounded step at a time and a few steps ahead of the
// consumer, so a hostile stream costs neither the event loop nor unbounded memory; every step
// is checked against the expansion limit, and zstd frames against the window limit.

import type { Readable } from 'node:stream';
import { EnvlockError } from '../errors.js';
import type { LayerCompression } from '../oci/media-types.js';
import { loadNative, type NativeDecoder } from '../runtime/native.js';
import { EXPANSION_FLOOR, MAX_EXPANSION_VAR, windowSize, ZSTD_WINDOW_VAR, type DecodeLimits } from './limits.js';
import type { LayerLabel } from './unpack-errors.js';

/** Output of one decode step; also the unit of the expansion check. */
const STEP = 512 * 1024;
/** Decoded bytes kept ready ahead of the consumer. */
const AHEAD = 4 * STEP;

/** Thrown (and translated by the caller) when the compressed stream itself is broken. */
export class DecompressError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DecompressError';
  }
}

/** Yields the uncompressed bytes; throws DecompressError, LAYER_TOO_LARGE, or the input's own error. */
export async function* decompressed(input: Readable, compression: LayerCompression, limits: DecodeLimits, label: LayerLabel): AsyncGenerator<Buffer> {
  if (compression === 'none') {
    for await (const chunk of input) {
      yield toBuffer(chunk);
    }
    return;
  }
  const { Decoder } = loadNative();
  yield* decodeAhead(input, new Decoder(compression, limits.zstdWindowLogMax), compression, limits, label);
}

async function* decodeAhead(input: Readable, decoder: NativeDecoder, compression: 'gzip' | 'zstd', limits: DecodeLimits, label: LayerLabel): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let queued = 0;
  let finished = false;
  let stopped = false;
  let failure: unknown;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  let consumed = 0;
  let produced = 0;

  const step = async (data: Buffer): Promise<{ used: number; made: number; ended: boolean }> => {
    let result;
    try {
      result = await decoder.decode(data, STEP);
    } catch (error) {
      throw decodeFailure(error, compression, limits, label);
    }
    consumed += result.consumed;
    produced += result.output.length;
    if (produced > EXPANSION_FLOOR && produced > limits.maxExpansion * consumed) {
      throw expansionError(label, limits.maxExpansion, produced, consumed);
    }
    if (result.output.length > 0) {
      queue.push(result.output);
      queued += result.output.length;
      wakeConsumer?.();
    }
    return { used: result.consumed, made: result.output.length, ended: result.ended };
  };
  const room = async (): Promise<void> => {
    while (queued >= AHEAD && !stopped) {
      await new Promise<void>((resolve) => (wakeProducer = resolve));
    }
  };

  const producer = (async () => {
    let ended = false;
    let sawInput = false;
    try {
      for await (const chunk of input) {
        let rest = toBuffer(chunk);
        sawInput ||= rest.length > 0;
        while (rest.length > 0 && !stopped) {
          await room();
          const done = await step(rest);
          if (done.used === 0 && done.made === 0) {
            throw new DecompressError(`the ${compression} decoder made no progress`);
          }
          rest = rest.subarray(done.used);
          ended = done.ended;
        }
        if (stopped) return;
      }
      // Flush what the decoder still holds, then the stream must stand at a frame boundary.
      for (;;) {
        await room();
        if (stopped) return;
        const done = await step(Buffer.alloc(0));
        ended = done.ended;
        if (done.made === 0) break;
      }
      if (!sawInput || !ended) {
        throw new DecompressError(`the ${compression} stream is ${sawInput ? 'truncated' : 'empty'}`);
      }
    } catch (error) {
      failure = error;
    } finally {
      finished = true;
      wakeConsumer?.();
    }
  })();

  try {
    for (;;) {
      if (failure !== undefined) throw failure;
      const next = queue.shift();
      if (next !== undefined) {
        queued -= next.length;
        wakeProducer?.();
        yield next;
        continue;
      }
      if (finished) return;
      await new Promise<void>((resolve) => (wakeConsumer = resolve));
      wakeConsumer = undefined;
    }
  } finally {
    stopped = true;
    wakeProducer?.();
    if (!finished) input.destroy();
    await producer;
    decoder.close();
  }
}

function decodeFailure(error: unknown, compression: string, limits: DecodeLimits, label: LayerLabel): unknown {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === 'window') {
    return new EnvlockError('LAYER_TOO_LARGE', `${label.layer} is a zstd stream whose frame needs a decoding window larger than the ${windowSize(limits.zstdWindowLogMax)} limit (${ZSTD_WINDOW_VAR}=${limits.zstdWindowLogMax}).`, {
      hint: `Do not use this image unless you trust it; then raise the limit, e.g. ${ZSTD_WINDOW_VAR}=${Math.min(limits.zstdWindowLogMax + 3, 31)}, and pull again.`,
      details: { layer: label.layer, windowLogMax: limits.zstdWindowLogMax },
    });
  }
  if (code === 'data') {
    return new DecompressError(`the ${compression} stream is damaged (${(error as Error).message})`, { cause: error });
  }
  return error;
}

function expansionError(label: LayerLabel, limit: number, produced: number, consumed: number): EnvlockError {
  return new EnvlockError('LAYER_TOO_LARGE', `${label.layer} expands to more than ${limit} times its compressed size (${produced} bytes from ${consumed}), the limit for a layer (${MAX_EXPANSION_VAR}=${limit}).`, {
    hint: `This looks like a decompression bomb: do not use the image. If you trust it, raise the limit, e.g. ${MAX_EXPANSION_VAR}=${limit * 10}, and pull again.`,
    details: { layer: label.layer, maxExpansion: limit, produced, consumed },
  });
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) {
    return chunk;
  }
  if (chunk instanceof Uint8Array) {
    return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
  return Buffer.from(String(chunk));
}
