// psABI and Arm levels: exact feature lists, level detection, OCI variant mapping.

import { describe, expect, it } from 'vitest';
import { canonicalFeature, normaliseFeatures } from '../../../core/arch/features.js';
import { findLevel, hostLevel, levelFeatures, levelForVariant, normaliseVariant } from '../../../core/arch/levels.js';

const V1 = ['cmov', 'cx8', 'fpu', 'fxsr', 'mmx', 'sse', 'sse2', 'syscall'];
const V2_ADDS = ['cx16', 'lahf', 'popcnt', 'sse3', 'sse4.1', 'sse4.2', 'ssse3'];
const V3_ADDS = ['avx', 'avx2', 'bmi1', 'bmi2', 'f16c', 'fma', 'lzcnt', 'movbe', 'xsave'];
const V4_ADDS = ['avx512bw', 'avx512cd', 'avx512dq', 'avx512f', 'avx512vl'];
const sorted = (list: string[]) => [...list].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

describe('x86-64 psABI levels (System V AMD64 psABI 3.1.1)', () => {
  it('lists exactly the psABI features, cumulatively', () => {
    expect(levelFeatures('x86-64')).toEqual(sorted(V1));
    expect(levelFeatures('x86-64-v2')).toEqual(sorted([...V1, ...V2_ADDS]));
    expect(levelFeatures('x86-64-v3')).toEqual(sorted([...V1, ...V2_ADDS, ...V3_ADDS]));
    expect(levelFeatures('x86-64-v4')).toEqual(sorted([...V1, ...V2_ADDS, ...V3_ADDS, ...V4_ADDS]));
    expect(levelFeatures('x86-64-v1')).toEqual(levelFeatures('x86-64'));
    expect(levelFeatures('x86-64-v5')).toBeUndefined();
  });

  it('finds the best level a feature set reaches, and stops at the first gap', () => {
    expect(hostLevel(V1)).toBe('x86-64');
    expect(hostLevel([...V1, ...V2_ADDS, ...V3_ADDS])).toBe('x86-64-v3');
    expect(hostLevel([...V1, ...V2_ADDS, ...V3_ADDS.filter((f) => f !== 'movbe'), ...V4_ADDS])).toBe('x86-64-v2');
    expect(hostLevel(['sse2'])).toBe('unknown');
  });

  it('maps levels to OCI amd64 variants, a missing variant being v1', () => {
    expect(findLevel('x86-64-v3')?.variant).toBe('v3');
    expect(levelForVariant('amd64', undefined)?.name).toBe('x86-64');
    expect(levelForVariant('amd64', 'v4')?.name).toBe('x86-64-v4');
    expect(normaliseVariant('amd64', '')).toBe('v1');
    expect(findLevel('x86_64_v2')?.name).toBe('x86-64-v2');
  });
});

describe('arm64 levels', () => {
  it('treats a missing variant as v8 and drops .0', () => {
    expect(normaliseVariant('arm64', undefined)).toBe('v8');
    expect(normaliseVariant('arm64', 'v8.0')).toBe('v8');
    expect(normaliseVariant('arm64', 'v9.0')).toBe('v9');
    expect(levelForVariant('arm64', 'v8.2')?.name).toBe('armv8.2-a');
    expect(normaliseVariant('ppc64le', undefined)).toBeUndefined();
  });

  it('builds v9.x on v8.(x+5) plus SVE2', () => {
    const v9 = levelFeatures('armv9-a')!;
    expect(v9).toEqual(sorted([...levelFeatures('armv8.5-a')!, 'sve', 'sve2']));
    expect(levelFeatures('armv9.1-a')).toContain('i8mm');
    expect(levelFeatures('armv8.1-a')).toEqual(sorted(['asimd', 'asimdrdm', 'atomics', 'crc32', 'fp']));
  });

  it('reads a Graviton3-like feature line as armv8.4-a', () => {
    const line = 'fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc dcpop sha3 asimddp sve asimdfhm dit uscat ilrcpc flagm ssbs paca pacg dcpodp svei8mm svebf16 i8mm bf16';
    expect(hostLevel(line.split(' '), 'arm64')).toBe('armv8.4-a');
  });
});

describe('feature vocabulary', () => {
  it('maps cpuinfo and GCC spellings onto one canonical name', () => {
    expect(canonicalFeature('amd64', 'pni')).toBe('sse3');
    expect(canonicalFeature('amd64', 'abm')).toBe('lzcnt');
    expect(canonicalFeature('amd64', 'AVX512_VNNI')).toBe('avx512vnni');
    expect(canonicalFeature('amd64', 'bmi')).toBe('bmi1');
    expect(canonicalFeature('arm64', 'lse')).toBe('atomics');
    expect(canonicalFeature('arm64', 'dotprod')).toBe('asimddp');
    expect(normaliseFeatures('amd64', ['sse4_2', 'sse4.2', ' ', 'avx2'])).toEqual(['avx2', 'sse4.2']);
  });
});
