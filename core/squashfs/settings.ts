// The squashfs writer's settings. Everything here changes the bytes of an image, so it is fixed
// (never read from the host) and recorded in the image's meta; docs/benchmarks.md has the
// measurements behind the choice.

import type { SqfsCompressor } from './native-writer.js';

export interface SquashfsSettings {
  compressor: SqfsCompressor;
  level: number;
  blockSize: number;
}

/** zstd level 1 on 128 KiB blocks: about as fast as lz4 on two cores, and a fifth smaller. */
export const SQUASHFS_SETTINGS: Readonly<SquashfsSettings> = Object.freeze({ compressor: 'zstd', level: 1, blockSize: 128 * 1024 });
