// The one vocabulary of CPU feature names envlock records and compares, and the mapping from
// the spellings /proc/cpuinfo, GCC and annotations use onto it.

/**
 * x86: canonical names are the psABI's feature names lower-cased, or GCC's `-m<name>` option
 * names where the psABI names none (System V AMD64 psABI 3.1.1; GCC "x86 Options"). The keys
 * below are the Linux cpuinfo spellings (arch/x86/include/asm/cpufeatures.h) that differ.
 */
const X86_CPUINFO: Readonly<Record<string, string>> = {
  pni: 'sse3',
  sse4_1: 'sse4.1',
  sse4_2: 'sse4.2',
  lahf_lm: 'lahf',
  // Linux reports CPUID 0x80000001 ECX[5] (LZCNT) as "abm" on Intel and AMD alike.
  abm: 'lzcnt',
  pclmulqdq: 'pclmul',
  rdrand: 'rdrnd',
  '3dnowprefetch': 'prfchw',
  sha_ni: 'sha',
  monitorx: 'mwaitx',
  avx512_vbmi2: 'avx512vbmi2',
  avx512_vnni: 'avx512vnni',
  avx512_bitalg: 'avx512bitalg',
  avx512_vpopcntdq: 'avx512vpopcntdq',
  avx512_bf16: 'avx512bf16',
  avx512_fp16: 'avx512fp16',
  avx512_vp2intersect: 'avx512vp2intersect',
  avx_vnni: 'avxvnni',
  amx_tile: 'amx-tile',
  amx_int8: 'amx-int8',
  amx_bf16: 'amx-bf16',
  amx_fp16: 'amx-fp16',
};

/** Other spellings people write in annotations and `cpu:` lists (GCC option names, psABI names). */
const X86_ALIASES: Readonly<Record<string, string>> = {
  sahf: 'lahf',
  'lahf-sahf': 'lahf',
  bmi: 'bmi1',
  cmpxchg16b: 'cx16',
  cmpxchg8b: 'cx8',
  sce: 'syscall',
  osxsave: 'xsave',
  sse4_1: 'sse4.1',
  sse4_2: 'sse4.2',
  'sse4-1': 'sse4.1',
  'sse4-2': 'sse4.2',
  rdrand: 'rdrnd',
  'avx-vnni': 'avxvnni',
  'avx512-fp16': 'avx512fp16',
  'avx512-bf16': 'avx512bf16',
};

/**
 * arm64: canonical names are the Linux hwcap names the kernel prints in the `Features` line
 * (Documentation/arch/arm64/elf_hwcaps.rst). GCC's `+ext` spellings are accepted as aliases.
 */
const ARM64_ALIASES: Readonly<Record<string, string>> = {
  lse: 'atomics',
  crc: 'crc32',
  rdma: 'asimdrdm',
  rdm: 'asimdrdm',
  dotprod: 'asimddp',
  fp16: 'fphp',
  fp16fml: 'asimdfhm',
  rcpc: 'lrcpc',
  'rcpc2': 'ilrcpc',
  simd: 'asimd',
  neon: 'asimd',
  'sve2-bitperm': 'svebitperm',
  'sve-bf16': 'svebf16',
  'sve-i8mm': 'svei8mm',
  pauth: 'paca',
};

/** The canonical name of one feature for an architecture; unknown names are kept, lower-cased. */
export function canonicalFeature(architecture: string, name: string): string {
  const lower = name.trim().toLowerCase();
  if (architecture === 'amd64') return X86_CPUINFO[lower] ?? X86_ALIASES[lower] ?? lower;
  if (architecture === 'arm64') return ARM64_ALIASES[lower] ?? lower;
  return lower;
}

/** Canonical, de-duplicated and sorted by code point (never localeCompare: lockfiles are bytes). */
export function normaliseFeatures(architecture: string, names: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const name of names) {
    if (name.trim() !== '') out.add(canonicalFeature(architecture, name));
  }
  return sortCodePoint([...out]);
}

/** Splits a comma- or space-separated feature list ("avx512f, avx512bw" or a cpuinfo line). */
export function splitFeatureList(text: string): string[] {
  return text.split(/[\s,]+/).filter((word) => word !== '');
}

/** Code-point order, the order of every list envlock writes. */
export function sortCodePoint(values: string[]): string[] {
  return values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The names in `required` that `available` lacks, in the order of `required`. */
export function missingFeatures(required: Iterable<string>, available: ReadonlySet<string>): string[] {
  const missing: string[] = [];
  for (const feature of required) {
    if (!available.has(feature)) missing.push(feature);
  }
  return missing;
}
