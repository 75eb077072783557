// Loads the two addons once each and types what they export; a missing or broken build becomes
// one RUNTIME_UNAVAILABLE error instead of a require stack. envlock_exec.node (plain C, libc
// only) replaces Node with the launcher and reports the CPU: all a repeated `run` needs, and
// cheap to load. envlock_native.node (node-addon-api, zstd, zlib, libsquashfs) does the rest.

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
  probeUserNamespaces(): RawUsernsProbe;
}

export interface ExecAddon {
  /**
   * Replaces this process with `path` (execve). With `specText`, the spec is put in a sealed
   * memfd the launcher inherits, and `--spec-fd N` is inserted after argv[0]. Returns only by
   * throwing (errno, code).
   */
  execLauncher(path: string, argv: string[], env: string[], specText?: string): never;
  cpuFeatures(): NativeCpu;
  /** The lowercase hex SHA-256 of the parts one after the other (meant for a few kilobytes). */
  sha256Hex(parts: readonly Uint8Array[]): string;
}

const loaded = new Map<string, unknown>();

/** The main addon, loaded from native/build/Release (or `file` in tests). */
export function loadNative(file?: string): NativeAddon {
  return load<NativeAddon>(file ?? path.join(nativeBuildDir(), 'envlock_native.node'));
}

let execAddonFile: string | undefined;

/** The exec addon, loaded from native/build/Release (or `file` in tests). */
export function loadExecAddon(file?: string): ExecAddon {
  // A repeated run asks twice (its cache key, then the exec): the path is joined once.
  return load<ExecAddon>(file ?? (execAddonFile ??= path.join(nativeBuildDir(), 'envlock_exec.node')));
}

function load<T>(target: string): T {
  if (loaded.has(target)) return loaded.get(target) as T;
  try {
    // process.dlopen, not require: no module loader is needed (nor loaded, on the fast paths).
    const module = { exports: {} as T };
    process.dlopen(module, target);
    loaded.set(target, module.exports);
    return module.exports;
  } catch (error) {
    throw new EnvlockError('RUNTIME_UNAVAILABLE', `The native runtime addon ${target} could not be loaded.`, {
      hint: BUILD_HINT,
      cause: error,
      details: { path: target },
    });
  }
}
