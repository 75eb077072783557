// Named microarchitectures and the features each guarantees, written from GCC's `-march`/`-mcpu`
// documentation and the vendors' published feature lists, in envlock's canonical names.

import { LEVELS } from './levels.js';

export interface Microarch {
  /** GCC's name (-march= on x86, -mcpu= on arm64). */
  name: string;
  architecture: 'amd64' | 'arm64';
  /** The level it builds on (psABI level or Arm version). */
  base: string;
  /** Features on top of the base level. */
  adds: readonly string[];
  vendor: string;
}

/**
 * Only features a compiler may emit for `-march=<name>` (or programs commonly probe) and that
 * every chip of the name reports. Left out on purpose: TSX (hle, rtm) and SGX, which microcode
 * and firmware switch off; privileged or hypervisor-hidden ones (pku, mwaitx, wbnoinvd, pconfig,
 * invpcid); and optional Arm crypto, which licensing makes vary between parts of one design.
 */
const ENTRIES: ReadonlyArray<Microarch & { from?: string }> = [
  // Intel (GCC "x86 Options", -march=CPU-TYPE)
  { name: 'nehalem', architecture: 'amd64', base: 'x86-64-v2', adds: [], vendor: 'Intel' },
  { name: 'westmere', architecture: 'amd64', base: 'x86-64-v2', from: 'nehalem', adds: ['pclmul'], vendor: 'Intel' },
  { name: 'sandybridge', architecture: 'amd64', base: 'x86-64-v2', from: 'westmere', adds: ['avx', 'xsave', 'xsaveopt'], vendor: 'Intel' },
  { name: 'ivybridge', architecture: 'amd64', base: 'x86-64-v2', from: 'sandybridge', adds: ['f16c', 'fsgsbase', 'rdrnd'], vendor: 'Intel' },
  { name: 'haswell', architecture: 'amd64', base: 'x86-64-v3', from: 'ivybridge', adds: ['aes'], vendor: 'Intel' },
  { name: 'broadwell', architecture: 'amd64', base: 'x86-64-v3', from: 'haswell', adds: ['adx', 'prfchw', 'rdseed'], vendor: 'Intel' },
  { name: 'skylake', architecture: 'amd64', base: 'x86-64-v3', from: 'broadwell', adds: ['clflushopt', 'xsavec', 'xsaves'], vendor: 'Intel' },
  { name: 'skylake-avx512', architecture: 'amd64', base: 'x86-64-v4', from: 'skylake', adds: ['clwb'], vendor: 'Intel' },
  { name: 'cascadelake', architecture: 'amd64', base: 'x86-64-v4', from: 'skylake-avx512', adds: ['avx512vnni'], vendor: 'Intel' },
  {
    name: 'icelake-server', architecture: 'amd64', base: 'x86-64-v4', from: 'cascadelake', vendor: 'Intel',
    adds: ['avx512bitalg', 'avx512ifma', 'avx512vbmi', 'avx512vbmi2', 'avx512vpopcntdq', 'gfni', 'rdpid', 'sha', 'vaes', 'vpclmulqdq'],
  },
  {
    name: 'sapphirerapids', architecture: 'amd64', base: 'x86-64-v4', from: 'icelake-server', vendor: 'Intel',
    adds: ['amx-bf16', 'amx-int8', 'amx-tile', 'avx512bf16', 'avx512fp16', 'avxvnni', 'cldemote', 'movdir64b', 'movdiri', 'serialize', 'waitpkg'],
  },
  // AMD (GCC -march=znverN)
  {
    name: 'znver1', architecture: 'amd64', base: 'x86-64-v3', vendor: 'AMD',
    adds: ['adx', 'aes', 'clflushopt', 'clzero', 'fsgsbase', 'pclmul', 'prfchw', 'rdrnd', 'rdseed', 'sha', 'sse4a', 'xsavec', 'xsaveopt', 'xsaves'],
  },
  { name: 'znver2', architecture: 'amd64', base: 'x86-64-v3', from: 'znver1', adds: ['clwb', 'rdpid'], vendor: 'AMD' },
  { name: 'znver3', architecture: 'amd64', base: 'x86-64-v3', from: 'znver2', adds: ['vaes', 'vpclmulqdq'], vendor: 'AMD' },
  {
    name: 'znver4', architecture: 'amd64', base: 'x86-64-v4', from: 'znver3', vendor: 'AMD',
    adds: ['avx512bf16', 'avx512bitalg', 'avx512ifma', 'avx512vbmi', 'avx512vbmi2', 'avx512vnni', 'avx512vpopcntdq', 'gfni'],
  },
  { name: 'znver5', architecture: 'amd64', base: 'x86-64-v4', from: 'znver4', adds: ['avx512vp2intersect', 'avxvnni', 'movdir64b', 'movdiri'], vendor: 'AMD' },
  // Arm (GCC "AArch64 Options", -mcpu=; Arm Neoverse technical reference manuals)
  { name: 'neoverse-n1', architecture: 'arm64', base: 'armv8.2-a', adds: ['asimddp', 'asimdhp', 'fphp', 'lrcpc', 'ssbs'], vendor: 'Arm' },
  {
    name: 'neoverse-v1', architecture: 'arm64', base: 'armv8.4-a', vendor: 'Arm',
    adds: ['asimdfhm', 'asimdhp', 'bf16', 'dcpodp', 'fphp', 'i8mm', 'ssbs', 'sve', 'svebf16', 'svei8mm'],
  },
  {
    name: 'neoverse-n2', architecture: 'arm64', base: 'armv9-a', vendor: 'Arm',
    adds: ['asimdfhm', 'asimdhp', 'bf16', 'dcpodp', 'fphp', 'i8mm', 'ssbs', 'svebf16', 'svei8mm'],
  },
  {
    name: 'neoverse-v2', architecture: 'arm64', base: 'armv9-a', from: 'neoverse-n2', vendor: 'Arm',
    adds: ['svebitperm'],
  },
  { name: 'a64fx', architecture: 'arm64', base: 'armv8.2-a', adds: ['asimdhp', 'fcma', 'fphp', 'sve'], vendor: 'Fujitsu' },
];

/** Other names for the same designs (archspec's and marketing names, cloud instance families). */
export const MICROARCH_ALIASES: Readonly<Record<string, string>> = {
  zen: 'znver1',
  zen2: 'znver2',
  zen3: 'znver3',
  zen4: 'znver4',
  zen5: 'znver5',
  icelake: 'icelake-server',
  icx: 'icelake-server',
  spr: 'sapphirerapids',
  'sapphire-rapids': 'sapphirerapids',
  graviton2: 'neoverse-n1',
  graviton3: 'neoverse-v1',
  graviton4: 'neoverse-v2',
  grace: 'neoverse-v2',
};

export interface ResolvedMicroarch extends Microarch {
  /** Every feature, the base level's included, sorted. */
  features: readonly string[];
}

function resolveAll(): Map<string, ResolvedMicroarch> {
  const out = new Map<string, ResolvedMicroarch>();
  for (const entry of ENTRIES) {
    const level = LEVELS.find((l) => l.name === entry.base);
    if (!level) throw new Error(`microarch ${entry.name}: unknown base level ${entry.base}`);
    const inherited = entry.from ? out.get(entry.from)?.features ?? [] : [];
    const all = new Set([...level.features, ...inherited, ...entry.adds]);
    const features = [...all].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const { from: _from, ...plain } = entry;
    out.set(entry.name, { ...plain, features });
  }
  return out;
}

export const MICROARCHS: ReadonlyMap<string, ResolvedMicroarch> = resolveAll();
