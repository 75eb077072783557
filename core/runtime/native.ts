// Loads the node-addon-api addon (envlock_native.node) once and types what it exports; a
// missing or broken build becomes one RUNTIME_UNAVAILABLE error instead of a require stack.

import path from 'node:path';
import { EnvlockError } from '../errors.js';
import { BUILD_HINT, nativeBuildDir } from './launcher-path.js';

/** What the addon's user-namespace probe saw; userns.ts turns it into a reason and a fix. */
export interface RawUsernsProbe {
  ok: boolean;
  /** The first step that failed: unshare, setgroups, uid_map, gid_map, mount or fork. */
  stage?: string;
  errno?: number;
  message?: string;
}

export interface NativeCpu {
  architecture: string;
  /** Canonical feature names (core/arch/features.ts). */
  features: string[];
  vendor?: string;
}

/** One step of a layer decoder (native/src/layer-decoder.cc): input bytes used, output made. */
export interface DecodeStep {
  consumed: number;
  output: Buffer;
  /** The stream stands at a clean boundary (a zstd frame or gzip member fully decoded). */
  ended: boolean;
}

/** Streaming gzip or zstd decoder running on libuv's thread pool; one decode() at a time. */
export interface NativeDecoder {
  decode(input: Buffer, maxOutput: number): Promise<DecodeStep>;
  close(): void;
}

export interface NativeAddon {
  /** A layer decoder; zstd frames needing a window above 2^windowLogMax are refused (code "window"). */
  Decoder: new (kind: 'gzip' | 'zstd', windowLogMax: number) => NativeDecoder;
  /**
   * Replaces this process with `path` (execve). With `specText`, the spec is put in a sealed
   * memfd the launcher inherits, and `--spec-fd N` is inserted after argv[0]. Returns only by
   * throwing (errno, code).
   */
  execLauncher(path: string, argv: string[], env: string[], specText?: string): never;
  cpuFeatures(): NativeCpu;
  probeUserNamespaces(): RawUsernsProbe;
}

let cached: NativeAddon | undefined;

/** The addon, loaded from native/build/Release (or `file` in tests). */
export function loadNative(file?: string): NativeAddon {
  if (cached && file === undefined) return cached;
  const target = file ?? path.join(nativeBuildDir(), 'envlock_native.node');
  try {
    // process.dlopen, not require: no module loader is needed (nor loaded, on the fast paths).
    const module = { exports: {} as NativeAddon };
    process.dlopen(module, target);
    const addon = module.exports;
    if (file === undefined) cached = addon;
    return addon;
  } catch (error) {
    throw new EnvlockError('RUNTIME_UNAVAILABLE', `The native runtime addon ${target} could not be loaded.`, {
      hint: BUILD_HINT,
      cause: error,
      details: { path: target },
    });
  }
}
