// Looks up named microarchitectures, turns a declared `cpu:` value into a requirement
// (level, microarch, features), and writes the GCC flags that build for an ArchFlags.

import { EnvlockError } from '../errors.js';
import type { ArchFlags } from '../../lockfiles/model.js';
import { nearest } from '../suggest.js';
import { findLevel, LEVEL_NAMES, LEVELS } from './levels.js';
import { MICROARCH_ALIASES, MICROARCHS, type ResolvedMicroarch } from './microarch-table.js';
import { quoted } from '../shown.js';

export { MICROARCHS, MICROARCH_ALIASES, type ResolvedMicroarch } from './microarch-table.js';

export interface CpuRequirement {
  architecture: 'amd64' | 'arm64';
  /** The level the requirement implies (a microarchitecture's base level). */
  level: string;
  microarch?: string;
  /** Every feature needed, canonical, sorted. */
  features: string[];
}

/** Lower-case, trimmed, `_` read as `-` (archspec writes skylake_avx512, GCC skylake-avx512). */
function spelling(name: string): string {
  return name.trim().toLowerCase().replaceAll('_', '-');
}

/** The microarchitecture of that name or alias (zen4 → znver4, graviton2 → neoverse-n1). */
export function findMicroarch(name: string): ResolvedMicroarch | undefined {
  const key = spelling(name);
  return MICROARCHS.get(MICROARCH_ALIASES[key] ?? key);
}

/** Every name a `cpu:` value may take, for messages and "did you mean". */
export function cpuNames(): string[] {
  return [...LEVEL_NAMES, ...MICROARCHS.keys(), ...Object.keys(MICROARCH_ALIASES)];
}

/**
 * A declared CPU minimum as a requirement. Throws CPU_LEVEL_UNKNOWN, with the nearest known
 * name, for a name that is neither a level nor a microarchitecture.
 */
export function resolveCpuRequirement(name: string): CpuRequirement {
  const level = findLevel(name);
  if (level) return { architecture: level.architecture, level: level.name, features: [...level.features] };
  const micro = findMicroarch(name);
  if (micro) return { architecture: micro.architecture, level: micro.base, microarch: micro.name, features: [...micro.features] };
  const guess = nearest(spelling(name), cpuNames());
  throw new EnvlockError('CPU_LEVEL_UNKNOWN', `CPU ${quoted(name)} is not a known level or microarchitecture.${guess ? ` Did you mean ${quoted(guess)}?` : ''}`, {
    hint: 'Write a level (x86-64, x86-64-v2, x86-64-v3, x86-64-v4, armv8.2-a …) or a microarchitecture such as haswell, znver4 or neoverse-n1; docs/platforms.md lists them all.',
    details: { cpu: name, suggestion: guess },
  });
}

/** GCC's option name where it differs from envlock's canonical x86 name. */
const GCC_X86_OPTION: Readonly<Record<string, string>> = { bmi1: 'bmi', lahf: 'sahf' };
/** Canonical x86 names that are not GCC -m options (baseline of every x86-64 compiler). */
const X86_NOT_OPTIONS = new Set(['cmov', 'cx8', 'fpu', 'syscall']);

/** x86 features GCC has a -m option for: everything the levels and microarchitectures name. */
const X86_OPTION_FEATURES = new Set(
  [...LEVELS.filter((l) => l.architecture === 'amd64').flatMap((l) => l.features), ...[...MICROARCHS.values()].filter((m) => m.architecture === 'amd64').flatMap((m) => m.features)].filter(
    (f) => !X86_NOT_OPTIONS.has(f),
  ),
);

/** Linux hwcap names to GCC's AArch64 `+ext` modifiers ("AArch64 Feature Modifiers"). */
const GCC_ARM_EXTENSION: Readonly<Record<string, string>> = {
  aes: 'aes',
  asimddp: 'dotprod',
  asimdfhm: 'fp16fml',
  asimdrdm: 'rdma',
  atomics: 'lse',
  bf16: 'bf16',
  crc32: 'crc',
  flagm: 'flagm',
  fphp: 'fp16',
  i8mm: 'i8mm',
  lrcpc: 'rcpc',
  sb: 'sb',
  sha2: 'sha2',
  sha3: 'sha3',
  ssbs: 'ssbs',
  sve: 'sve',
  sve2: 'sve2',
};

/**
 * GCC flags that build for an ArchFlags: a named x86 microarchitecture gives
 * "-march=haswell -mtune=haswell", a level "-march=x86-64-v3 -mtune=generic"; on arm64 a named
 * core gives "-mcpu=neoverse-n1" (GCC has no -march for cores; -mcpu sets arch and tuning) and
 * a level "-march=armv8.2-a -mtune=generic". Features beyond those are added as -mX / +X.
 * Empty when nothing is known.
 */
export function cflagsFor(arch: ArchFlags): string {
  const micro = arch.microarch ? findMicroarch(arch.microarch) : undefined;
  const level = arch.level ? findLevel(arch.level) : undefined;
  const architecture = micro?.architecture ?? level?.architecture;
  if (architecture === undefined) return '';
  const covered = new Set([...(micro?.features ?? []), ...(level && !micro ? level.features : [])]);
  const extra = arch.features.filter((f) => !covered.has(f));
  if (architecture === 'amd64') {
    const base = micro ? `-march=${micro.name} -mtune=${micro.name}` : `-march=${level!.name} -mtune=generic`;
    const options = extra.filter((f) => X86_OPTION_FEATURES.has(f)).map((f) => `-m${GCC_X86_OPTION[f] ?? f}`);
    return [base, ...options].join(' ');
  }
  const modifiers = extra.map((f) => GCC_ARM_EXTENSION[f]).filter((m): m is string => m !== undefined);
  const suffix = modifiers.map((m) => `+${m}`).join('');
  return micro ? `-mcpu=${micro.name}${suffix}` : `-march=${level!.name}${suffix} -mtune=generic`;
}
