// ENVLOCK_CPU_MASK: features every command treats this CPU as lacking (comma-separated, in
// /proc/cpuinfo or envlock's canonical spelling), in the spirit of glibc's glibc.cpu.hwcaps
// tunable. It can only take features away, never add any, so it never makes envlock start an
// image this CPU cannot run: try a lower variant on a newer machine before sending jobs to
// older nodes, or see what a node without AVX-512 would get.

import type { Env } from '../context.js';
import { canonicalFeature } from './features.js';

/** `features` without the masked ones (a new array; the input is left alone). */
export function maskCpuFeatures(architecture: string, features: Iterable<string>, env: Env): string[] {
  const text = env.ENVLOCK_CPU_MASK ?? '';
  if (text === '') return [...features];
  const mask = new Set(text.split(',').map((f) => f.trim()).filter((f) => f !== '').map((f) => canonicalFeature(architecture, f)));
  return [...features].filter((f) => !mask.has(f));
}
