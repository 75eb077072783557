// Turns a layer blob stream into its uncompressed tar bytes (gzip via zlib, zstd via fzstd),
// in bounded pieces so a decompression bomb is caught within one small step.

import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { Decompress } from 'fzstd';
import type { LayerCompression } from '../oci/media-types.js';

/** Input is fed to the zstd decoder in slices this small: one slice of RLE blocks can expand to at most ~22 MiB. */
const ZSTD_SLICE = 512;

/** Thrown (and translated by the caller) when the compressed stream itself is broken. */
export class DecompressError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DecompressError';
  }
}

/** Yields uncompressed chunks; `onChunk` sees each before it is yielded and may throw to stop. */
export async function* decompressed(input: Readable, compression: LayerCompression): AsyncGenerator<Buffer> {
  if (compression === 'none') {
    for await (const chunk of input) {
      yield toBuffer(chunk);
    }
    return;
  }
  if (compression === 'gzip') {
    yield* gunzipped(input);
    return;
  }
  yield* unzstded(input);
}

async function* gunzipped(input: Readable): AsyncGenerator<Buffer> {
  // createGunzip reads concatenated members (multi-member gzip) as one stream.
  const gunzip = zlib.createGunzip();
  const onInputError = (error: Error): void => {
    gunzip.destroy(error);
  };
  input.on('error', onInputError);
  input.pipe(gunzip);
  try {
    for await (const chunk of gunzip) {
      yield chunk as Buffer;
    }
  } catch (error) {
    if (isZlibError(error)) {
      throw new DecompressError(`the gzip stream is damaged or truncated (${(error as Error).message})`, { cause: error });
    }
    throw error;
  } finally {
    input.off('error', onInputError);
    input.unpipe(gunzip);
    gunzip.destroy();
  }
}

async function* unzstded(input: Readable): AsyncGenerator<Buffer> {
  let out: Buffer[] = [];
  const decoder = new Decompress((data) => {
    if (data.length > 0) {
      // fzstd keeps a window buffer; copy so later blocks cannot change what we hand on.
      out.push(Buffer.from(data));
    }
  });
  const push = (slice: Uint8Array, final: boolean): void => {
    try {
      decoder.push(slice, final);
    } catch (error) {
      throw new DecompressError(`the zstd stream is damaged or truncated (${(error as Error).message})`, { cause: error });
    }
  };
  for await (const chunk of input) {
    const bytes = toBuffer(chunk);
    for (let at = 0; at < bytes.length; at += ZSTD_SLICE) {
      push(bytes.subarray(at, at + ZSTD_SLICE), false);
      if (out.length > 0) {
        const ready = out;
        out = [];
        yield* ready;
      }
    }
  }
  push(new Uint8Array(0), true);
  yield* out;
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

function isZlibError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}
