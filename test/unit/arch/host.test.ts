// parseCpuinfo / detectHostCpu / hostPlatform against hand-written cpuinfo fixtures and this host.

import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EnvlockError } from '../../../core/errors.js';
import { detectHostCpu, hostCpuFromFeatures, hostPlatform, parseCpuinfo } from '../../../core/arch/host.js';
import { findMicroarch } from '../../../core/arch/microarchs.js';

function fixture(name: string): string {
  return fs.readFileSync(new URL(`../../fixtures/cpuinfo/${name}`, import.meta.url), 'utf8');
}

function lacks(features: Set<string>, names: readonly string[]): string[] {
  return names.filter((n) => !features.has(n));
}

describe('parseCpuinfo on x86', () => {
  it('reads a Westmere as x86-64-v2 with cpuinfo spellings made canonical', () => {
    const cpu = parseCpuinfo(fixture('westmere-v2.txt'), 'amd64');
    expect(cpu.level).toBe('x86-64-v2');
    expect(cpu.vendor).toBe('GenuineIntel');
    expect(cpu.model).toContain('X5650');
    for (const name of ['sse3', 'sse4.1', 'sse4.2', 'lahf', 'pclmul', 'cx16', 'popcnt']) expect(cpu.features.has(name)).toBe(true);
    for (const raw of ['pni', 'sse4_1', 'lahf_lm', 'pclmulqdq']) expect(cpu.features.has(raw)).toBe(false);
    expect(cpu.features.has('avx')).toBe(false);
    expect(lacks(cpu.features, findMicroarch('westmere')!.features)).toEqual([]);
  });

  it('reads a Haswell as x86-64-v3 (abm is lzcnt) and not v4', () => {
    const cpu = parseCpuinfo(fixture('haswell-v3.txt'), 'amd64');
    expect(cpu.level).toBe('x86-64-v3');
    expect(cpu.features.has('lzcnt')).toBe(true);
    expect(cpu.features.has('avx512f')).toBe(false);
    expect(lacks(cpu.features, findMicroarch('haswell')!.features)).toEqual([]);
    expect(lacks(cpu.features, findMicroarch('broadwell')!.features)).toEqual(['adx', 'prfchw', 'rdseed']);
  });

  it('reads an Ice Lake server as x86-64-v4 with the whole icelake-server feature list', () => {
    const cpu = parseCpuinfo(fixture('icelake-server-v4.txt'), 'amd64');
    expect(cpu.level).toBe('x86-64-v4');
    expect(lacks(cpu.features, findMicroarch('icelake-server')!.features)).toEqual([]);
    expect(cpu.features.has('avx512vbmi2')).toBe(true);
    expect(cpu.features.has('sha')).toBe(true);
    expect(lacks(cpu.features, findMicroarch('sapphirerapids')!.features)).toContain('amx-tile');
  });

  it('reads a Zen 4 as x86-64-v4 with the znver4 features, AMD vendor', () => {
    const cpu = parseCpuinfo(fixture('zen4-v4.txt'), 'amd64');
    expect(cpu.level).toBe('x86-64-v4');
    expect(cpu.vendor).toBe('AuthenticAMD');
    expect(lacks(cpu.features, findMicroarch('zen4')!.features)).toEqual([]);
    expect(cpu.features.has('avx512bf16')).toBe(true);
    expect(cpu.features.has('avx512fp16')).toBe(false);
  });

  it('keeps only the features every processor has (hybrid or mismatched cores)', () => {
    const text = 'processor\t: 0\nflags\t\t: fpu avx2 avx512f\nvmx flags\t: ept\n\nprocessor\t: 1\nflags\t\t: fpu avx2\nvmx flags\t: ept\n';
    const cpu = parseCpuinfo(text, 'amd64');
    expect([...cpu.features].sort()).toEqual(['avx2', 'fpu']);
  });

  it('refuses a text without a flags line with CPU_DETECTION_FAILED (exit 4)', () => {
    try {
      parseCpuinfo('processor\t: 0\nvendor_id\t: GenuineIntel\n', 'amd64');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(EnvlockError);
      const e = error as EnvlockError;
      expect(e.code).toBe('CPU_DETECTION_FAILED');
      expect(e.exitCode).toBe(4);
      expect(e.message).toMatch(/no `flags` line/);
      expect(e.hint).toBeTruthy();
    }
  });
});

describe('parseCpuinfo on arm64 and others', () => {
  it('reads a Neoverse N1 as armv8.2-a and names the part', () => {
    const cpu = parseCpuinfo(fixture('neoverse-n1.txt'), 'arm64');
    expect(cpu.level).toBe('armv8.2-a');
    expect(cpu.vendor).toBe('ARM');
    expect(cpu.model).toBe('neoverse-n1');
    expect(cpu.features.has('atomics')).toBe(true);
    expect(cpu.features.has('sve')).toBe(false);
    expect(lacks(cpu.features, findMicroarch('graviton2')!.features)).toEqual([]);
    expect(lacks(cpu.features, findMicroarch('neoverse-v1')!.features)).toContain('sve');
  });

  it('reads a POWER9 generation from the cpu line', () => {
    const cpu = parseCpuinfo('processor\t: 0\ncpu\t\t: POWER9 (architected), altivec supported\n', 'ppc64le');
    expect(cpu.level).toBe('power9');
    expect(cpu.features.size).toBe(0);
  });
});

describe('detectHostCpu', () => {
  it('reads the file it is given', () => {
    const read = (file: string) => {
      expect(file).toBe('/proc/cpuinfo');
      return fixture('haswell-v3.txt');
    };
    expect(detectHostCpu(read, 'amd64').level).toBe('x86-64-v3');
  });

  it('turns an unreadable /proc/cpuinfo into CPU_DETECTION_FAILED', () => {
    const read = () => {
      throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    };
    expect(() => detectHostCpu(read, 'amd64')).toThrow(expect.objectContaining({ code: 'CPU_DETECTION_FAILED', exitCode: 4 }));
  });

  it("parses this host's real /proc/cpuinfo without error", () => {
    const platform = hostPlatform();
    const cpu = detectHostCpu();
    expect(cpu.architecture).toBe(platform.architecture);
    if (cpu.architecture === 'amd64') {
      expect(cpu.level).toMatch(/^x86-64(-v[234])?$/);
      expect(cpu.features.has('sse2')).toBe(true);
    }
    if (cpu.architecture === 'arm64') expect(cpu.level).toMatch(/^armv[89]/);
  });
});

describe('hostPlatform', () => {
  it('prefers the kernel machine name and maps it to OCI names', () => {
    expect(hostPlatform(undefined, { system: 'linux', machine: 'x86_64', nodeArch: 'x64' })).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(hostPlatform(undefined, { system: 'linux', machine: 'aarch64', nodeArch: 'x64' })).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(hostPlatform(undefined, { system: 'linux', machine: 'weird', nodeArch: 'ppc64' })).toEqual({ os: 'linux', architecture: 'ppc64le' });
  });

  it('adds the variant of a detected CPU', () => {
    const cpu = hostCpuFromFeatures('amd64', ['fpu', 'cmov', 'cx8', 'fxsr', 'mmx', 'syscall', 'sse', 'sse2', 'pni', 'ssse3', 'sse4_1', 'sse4_2', 'popcnt', 'cx16', 'lahf_lm']);
    expect(cpu.level).toBe('x86-64-v2');
    expect(hostPlatform(cpu, { system: 'linux', machine: 'x86_64' })).toEqual({ os: 'linux', architecture: 'amd64', variant: 'v2' });
  });

  it('refuses an unknown machine or another OS with ARCH_UNSUPPORTED', () => {
    expect(() => hostPlatform(undefined, { system: 'linux', machine: 'mips64', nodeArch: 'mips' })).toThrow(expect.objectContaining({ code: 'ARCH_UNSUPPORTED', exitCode: 4 }));
    expect(() => hostPlatform(undefined, { system: 'darwin', machine: 'arm64', nodeArch: 'arm64' })).toThrow(/darwin\/arm64/);
  });
});
