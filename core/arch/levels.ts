// CPU levels: the x86-64 psABI microarchitecture levels and the Arm architecture versions, the
// features each needs, which one a feature set reaches, and how they map to OCI platform variants.

import { sortCodePoint } from './features.js';

export interface CpuLevel {
  /** GCC `-march` spelling: x86-64, x86-64-v2 …, armv8-a, armv8.1-a …, armv9-a … */
  name: string;
  architecture: 'amd64' | 'arm64';
  /** OCI platform variant (image-spec image-index.md "Platform Variants"): v1…v4, v8, v8.1 … v9 … */
  variant: string;
  /** Orders levels of one architecture; higher is newer. */
  rank: number;
  /** Every feature the level needs (cumulative), canonical names, sorted. */
  features: readonly string[];
}

/**
 * System V AMD64 psABI, section 3.1.1 "Microarchitecture levels", Table 3.1. Spelled in
 * envlock's canonical names (features.ts): CMPXCHG16B = cx16, LAHF-SAHF = lahf, SCE = syscall,
 * OSFXSR is implied by fxsr, and OSXSAVE is checked as xsave, because Linux withdraws the
 * `xsave` flag when the kernel does not enable XSAVE.
 */
const X86_STEPS: ReadonlyArray<readonly [string, string, readonly string[]]> = [
  ['x86-64', 'v1', ['cmov', 'cx8', 'fpu', 'fxsr', 'mmx', 'syscall', 'sse', 'sse2']],
  ['x86-64-v2', 'v2', ['cx16', 'lahf', 'popcnt', 'sse3', 'sse4.1', 'sse4.2', 'ssse3']],
  ['x86-64-v3', 'v3', ['avx', 'avx2', 'bmi1', 'bmi2', 'f16c', 'fma', 'lzcnt', 'movbe', 'xsave']],
  ['x86-64-v4', 'v4', ['avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl']],
];

/**
 * Arm: only the features each version makes mandatory and Linux reliably reports as hwcaps, so
 * a real CPU of that version is never refused. Features the kernel may hide by configuration
 * (pointer authentication, BTI, MTE) are left out. Armv9.x corresponds to Armv8.(x+5) plus SVE2
 * (Arm ARM A2; containerd's platform matcher uses the same correspondence).
 */
const ARM_STEPS: ReadonlyArray<readonly [string, string, readonly string[]]> = [
  ['armv8-a', 'v8', ['fp', 'asimd']],
  ['armv8.1-a', 'v8.1', ['atomics', 'asimdrdm', 'crc32']],
  ['armv8.2-a', 'v8.2', ['dcpop']],
  ['armv8.3-a', 'v8.3', ['fcma', 'jscvt', 'lrcpc']],
  ['armv8.4-a', 'v8.4', ['asimddp', 'dit', 'flagm', 'ilrcpc', 'uscat']],
  ['armv8.5-a', 'v8.5', ['flagm2', 'frint', 'sb']],
  ['armv8.6-a', 'v8.6', ['bf16', 'i8mm']],
  ['armv8.7-a', 'v8.7', []],
  ['armv8.8-a', 'v8.8', []],
  ['armv8.9-a', 'v8.9', []],
];

function buildLevels(): CpuLevel[] {
  const levels: CpuLevel[] = [];
  let x86: string[] = [];
  X86_STEPS.forEach(([name, variant, added], i) => {
    x86 = [...x86, ...added];
    levels.push({ name, architecture: 'amd64', variant, rank: i + 1, features: sortCodePoint([...x86]) });
  });
  let arm: string[] = [];
  const byVariant = new Map<string, string[]>();
  ARM_STEPS.forEach(([name, variant, added], i) => {
    arm = [...arm, ...added];
    byVariant.set(variant, [...arm]);
    levels.push({ name, architecture: 'arm64', variant, rank: 80 + i, features: sortCodePoint([...arm]) });
  });
  for (let minor = 0; minor <= 5; minor++) {
    const base = byVariant.get(minor + 5 <= 9 ? `v8.${minor + 5}` : 'v8.9') ?? [];
    const name = minor === 0 ? 'armv9-a' : `armv9.${minor}-a`;
    const variant = minor === 0 ? 'v9' : `v9.${minor}`;
    levels.push({ name, architecture: 'arm64', variant, rank: 90 + minor, features: sortCodePoint([...base, 'sve', 'sve2']) });
  }
  return levels;
}

export const LEVELS: readonly CpuLevel[] = buildLevels();

const BY_NAME = new Map<string, CpuLevel>(LEVELS.map((l) => [l.name, l]));
BY_NAME.set('x86-64-v1', BY_NAME.get('x86-64')!);
BY_NAME.set('armv8.0-a', BY_NAME.get('armv8-a')!);
BY_NAME.set('armv9.0-a', BY_NAME.get('armv9-a')!);

/** Every level name a user may write, for "did you mean". */
export const LEVEL_NAMES: readonly string[] = [...BY_NAME.keys()];

/** The level of that name (x86-64-v1 and armv8.0-a are accepted), underscores read as dashes. */
export function findLevel(name: string): CpuLevel | undefined {
  return BY_NAME.get(name.trim().toLowerCase().replaceAll('_', '-'));
}

/** Every feature a level needs, sorted; undefined for an unknown level. */
export function levelFeatures(level: string): string[] | undefined {
  const found = findLevel(level);
  return found ? [...found.features] : undefined;
}

/** The levels of one architecture, lowest first. */
export function levelsOf(architecture: string): CpuLevel[] {
  return LEVELS.filter((l) => l.architecture === architecture).sort((a, b) => a.rank - b.rank);
}

/** True when every feature of level `a` is also needed by `b` (b is at least a). */
export function levelCovers(b: CpuLevel, a: CpuLevel): boolean {
  if (a.architecture !== b.architecture) return false;
  const mine = new Set(b.features);
  return a.features.every((f) => mine.has(f));
}

/** The best level a feature set reaches for an architecture, or undefined if not even the first. */
export function hostLevelOf(features: ReadonlySet<string>, architecture: string): CpuLevel | undefined {
  let best: CpuLevel | undefined;
  for (const level of levelsOf(architecture)) {
    if (level.features.every((f) => features.has(f)) && (best === undefined || level.rank > best.rank)) best = level;
  }
  return best;
}

/** The best level's name ("x86-64-v3", "armv8.2-a"), or "unknown". amd64 unless told otherwise. */
export function hostLevel(features: Iterable<string>, architecture = 'amd64'): string {
  return hostLevelOf(new Set(features), architecture)?.name ?? 'unknown';
}

/**
 * The OCI variant in its explicit form: a missing amd64 variant is v1 and a missing arm64
 * variant is v8 (containerd normalises `amd64/v1` and `arm64/v8` to the bare name; envlock
 * keeps the explicit form so messages and lockfiles say what was chosen). `v8.0`/`v9.0` drop `.0`.
 */
export function normaliseVariant(architecture: string, variant: string | undefined): string | undefined {
  const v = variant?.trim().toLowerCase() || undefined;
  if (architecture === 'amd64') return v ?? 'v1';
  if (architecture === 'arm64') {
    if (v === undefined) return 'v8';
    return v.replace(/^v(8|9)\.0$/, 'v$1');
  }
  return v;
}

/** The level an OCI variant stands for (amd64 v3 → x86-64-v3), after normalising it. */
export function levelForVariant(architecture: string, variant: string | undefined): CpuLevel | undefined {
  const v = normaliseVariant(architecture, variant);
  return LEVELS.find((l) => l.architecture === architecture && l.variant === v);
}
