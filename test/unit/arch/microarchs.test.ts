// Named microarchitectures, `cpu:` requirements and GCC flags.

import { describe, expect, it } from 'vitest';
import { EnvlockError } from '../../../core/errors.js';
import { canonicalFeature } from '../../../core/arch/features.js';
import { levelFeatures } from '../../../core/arch/levels.js';
import { cflagsFor, findMicroarch, MICROARCHS, resolveCpuRequirement } from '../../../core/arch/microarchs.js';

describe('microarchitecture table', () => {
  it('builds each x86 name on its psABI level', () => {
    for (const micro of MICROARCHS.values()) {
      const base = levelFeatures(micro.base)!;
      expect(base.every((f) => micro.features.includes(f)), micro.name).toBe(true);
    }
    expect(findMicroarch('haswell')!.base).toBe('x86-64-v3');
    expect(findMicroarch('skylake-avx512')!.features).toEqual(expect.arrayContaining(['avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl', 'clwb']));
  });

  it('lets each generation inherit the one before', () => {
    const icx = findMicroarch('icelake-server')!.features;
    const spr = findMicroarch('sapphirerapids')!.features;
    expect(icx.every((f) => spr.includes(f))).toBe(true);
    expect(spr).toEqual(expect.arrayContaining(['amx-tile', 'amx-int8', 'amx-bf16', 'avx512fp16', 'avxvnni', 'avx512bf16']));
    expect(icx).toEqual(expect.arrayContaining(['avx512vbmi', 'avx512vbmi2', 'avx512vnni', 'avx512bitalg', 'avx512vpopcntdq', 'gfni', 'vaes', 'vpclmulqdq', 'sha']));
    expect(findMicroarch('zen3')!.features).not.toContain('avx512f');
    expect(findMicroarch('zen4')!.features).toContain('avx512f');
  });

  it('leaves out features firmware or hypervisors switch off', () => {
    for (const micro of MICROARCHS.values()) {
      for (const f of ['hle', 'rtm', 'sgx', 'pku', 'mwaitx']) expect(micro.features, micro.name).not.toContain(f);
    }
  });

  it('spells every feature canonically, so host checks compare like with like', () => {
    for (const micro of MICROARCHS.values()) {
      for (const f of micro.features) expect(canonicalFeature(micro.architecture, f), `${micro.name}: ${f}`).toBe(f);
    }
  });

  it('knows the Arm designs and their cloud aliases', () => {
    expect(findMicroarch('graviton2')!.name).toBe('neoverse-n1');
    expect(findMicroarch('neoverse_v1')!.features).toContain('sve');
    expect(findMicroarch('a64fx')!.base).toBe('armv8.2-a');
    expect(findMicroarch('a64fx')!.features).toContain('sve');
  });
});

describe('resolveCpuRequirement', () => {
  it('resolves a level to its features', () => {
    expect(resolveCpuRequirement('x86-64-v3')).toEqual({ architecture: 'amd64', level: 'x86-64-v3', features: levelFeatures('x86-64-v3') });
  });

  it('resolves a microarch (any spelling) to its base level and features', () => {
    const req = resolveCpuRequirement('Skylake_AVX512');
    expect(req.microarch).toBe('skylake-avx512');
    expect(req.level).toBe('x86-64-v4');
    expect(req.features).toContain('xsavec');
    expect(resolveCpuRequirement('zen4').microarch).toBe('znver4');
  });

  it('refuses an unknown name with CPU_LEVEL_UNKNOWN and a suggestion', () => {
    try {
      resolveCpuRequirement('skylake-avx');
      expect.unreachable();
    } catch (error) {
      const e = error as EnvlockError;
      expect(e.code).toBe('CPU_LEVEL_UNKNOWN');
      expect(e.exitCode).toBe(1);
      expect(e.message).toBe('CPU `skylake-avx` is not a known level or microarchitecture. Did you mean `skylake-avx512`?');
      expect(e.hint).toMatch(/x86-64-v3/);
    }
    expect(() => resolveCpuRequirement('x86-64-v9')).toThrow(/Did you mean `x86-64-v\d`/);
  });
});

describe('cflagsFor', () => {
  it('gives -march/-mtune for a level or an x86 microarchitecture', () => {
    expect(cflagsFor({ level: 'x86-64-v3', features: levelFeatures('x86-64-v3')! })).toBe('-march=x86-64-v3 -mtune=generic');
    const haswell = findMicroarch('haswell')!;
    expect(cflagsFor({ level: 'x86-64-v3', microarch: 'haswell', features: [...haswell.features] })).toBe('-march=haswell -mtune=haswell');
  });

  it('adds GCC options for features beyond the level', () => {
    const features = [...levelFeatures('x86-64-v4')!, 'avx512fp16', 'bmi1'].sort();
    expect(cflagsFor({ level: 'x86-64-v4', features })).toBe('-march=x86-64-v4 -mtune=generic -mavx512fp16');
    expect(cflagsFor({ level: 'x86-64-v2', features: [...levelFeatures('x86-64-v2')!, 'bmi1'] })).toBe('-march=x86-64-v2 -mtune=generic -mbmi');
  });

  it('uses -mcpu for Arm cores and +ext for extra features', () => {
    expect(cflagsFor({ microarch: 'neoverse-n1', level: 'armv8.2-a', features: [...findMicroarch('neoverse-n1')!.features] })).toBe('-mcpu=neoverse-n1');
    expect(cflagsFor({ level: 'armv8.2-a', features: [...levelFeatures('armv8.2-a')!, 'sve'] })).toBe('-march=armv8.2-a+sve -mtune=generic');
  });

  it('is empty when nothing is known', () => {
    expect(cflagsFor({ features: [] })).toBe('');
  });
});
