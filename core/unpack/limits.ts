// The bounds that stop a hostile layer early, with the environment variables that raise them
// (docs/security.md "Compression, DiffID and bounds"): read once per pull from the context.

import type { Env } from '../context.js';
import { EnvlockError } from '../errors.js';

/** Uncompressed bytes per layer (LAYER_TOO_LARGE beyond). */
export const DEFAULT_MAX_BYTES = 64 * 1024 ** 3;
/** Entries per layer. */
export const DEFAULT_MAX_ENTRIES = 2_000_000;
/** A layer may expand to this many times the compressed bytes read so far. */
export const DEFAULT_MAX_EXPANSION = 1000;
/** The expansion check starts here: small layers of zeros are no bomb. */
export const EXPANSION_FLOOR = 64 * 1024 * 1024;
/** zstd windows up to 2^27 (128 MiB), the zstd command-line tool's own default limit. */
export const DEFAULT_ZSTD_WINDOW_LOG_MAX = 27;
/** libzstd's largest window on 64-bit hosts (ZSTD_WINDOWLOG_MAX_64). */
const ZSTD_WINDOW_LOG_CEILING = 31;

export const MAX_EXPANSION_VAR = 'ENVLOCK_MAX_EXPANSION';
export const ZSTD_WINDOW_VAR = 'ENVLOCK_ZSTD_WINDOW_LOG_MAX';

export interface DecodeLimits {
  maxExpansion: number;
  zstdWindowLogMax: number;
}

/** The limits in force, from ENVLOCK_MAX_EXPANSION and ENVLOCK_ZSTD_WINDOW_LOG_MAX when set. */
export function decodeLimits(env: Env): DecodeLimits {
  return {
    maxExpansion: whole(env, MAX_EXPANSION_VAR, DEFAULT_MAX_EXPANSION, 10, Number.MAX_SAFE_INTEGER),
    zstdWindowLogMax: whole(env, ZSTD_WINDOW_VAR, DEFAULT_ZSTD_WINDOW_LOG_MAX, 10, ZSTD_WINDOW_LOG_CEILING),
  };
}

function whole(env: Env, name: string, fallback: number, min: number, max: number): number {
  const text = env[name];
  if (text === undefined || text === '') {
    return fallback;
  }
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || value < min || value > max) {
    throw new EnvlockError('USAGE', `${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(text)}.`, {
      hint: `Unset ${name} to use the default (${fallback}), or set it to a number in that range.`,
    });
  }
  return value;
}

/** 2^log bytes in words: "128 MiB". */
export function windowSize(log: number): string {
  return log >= 30 ? `${2 ** (log - 30)} GiB` : log >= 20 ? `${2 ** (log - 20)} MiB` : `${2 ** (log - 10)} KiB`;
}
