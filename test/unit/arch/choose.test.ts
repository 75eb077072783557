// Run-time choice among locked images: best fit per host, CPU_UNSUPPORTED and ARCH_UNSUPPORTED.

import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chooseImage } from '../../../core/arch/select.js';
import { parseCpuinfo, type HostCpu } from '../../../core/arch/host.js';
import { levelFeatures } from '../../../core/arch/levels.js';
import type { EnvlockError } from '../../../core/errors.js';
import type { LockedImage } from '../../../lockfiles/model.js';

function host(name: string, architecture = 'amd64'): HostCpu & { os: string } {
  const text = fs.readFileSync(new URL(`../../fixtures/cpuinfo/${name}`, import.meta.url), 'utf8');
  return { ...parseCpuinfo(text, architecture), os: 'linux' };
}

function image(architecture: string, variant: string, level: string, extra: string[] = []): LockedImage {
  const d = (c: string) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${c.repeat(64)}`, size: 1 });
  const features = [...new Set([...levelFeatures(level)!, ...extra])].sort();
  return { platform: { os: 'linux', architecture, variant }, manifest: d(variant.slice(-1)), config: d('c'), layers: [], arch: { level, features } };
}

const V2 = image('amd64', 'v2', 'x86-64-v2');
const V3 = image('amd64', 'v3', 'x86-64-v3');
const V4 = image('amd64', 'v4', 'x86-64-v4');
const ARM = image('arm64', 'v8', 'armv8-a');

function refusal(run: () => unknown): EnvlockError {
  try {
    run();
  } catch (error) {
    return error as EnvlockError;
  }
  throw new Error('expected a refusal');
}

describe('chooseImage', () => {
  it('picks v3 on a v3 host and v4 on a v4 host', () => {
    expect(chooseImage([V2, V3, V4, ARM], host('haswell-v3.txt')).image).toBe(V3);
    expect(chooseImage([V2, V3, V4, ARM], host('icelake-server-v4.txt')).image).toBe(V4);
    expect(chooseImage([V4, V3, V2], host('zen4-v4.txt'))).toEqual({ image: V4, missing: [] });
    expect(chooseImage([V2, V3, V4, ARM], host('neoverse-n1.txt', 'arm64')).image).toBe(ARM);
  });

  it('prefers the variant that may use more features at one level', () => {
    const spr = image('amd64', 'v4', 'x86-64-v4', ['avx512fp16', 'amx-tile']);
    const icx = image('amd64', 'v4', 'x86-64-v4', ['avx512vbmi2', 'gfni']);
    expect(chooseImage([V4, icx, spr], host('icelake-server-v4.txt')).image).toBe(icx);
  });

  it('refuses a v3-only lock on a v2 host with CPU_UNSUPPORTED (exit 4)', () => {
    const e = refusal(() => chooseImage([V3], host('westmere-v2.txt'), { environment: 'x' }));
    expect(e.code).toBe('CPU_UNSUPPORTED');
    expect(e.exitCode).toBe(4);
    expect(e.message).toBe('This CPU lacks avx, avx2, bmi1, bmi2, f16c, fma, lzcnt, movbe and 1 more needed by every locked variant of `x` (locked: linux/amd64/v3); this host is x86-64-v2.');
    expect(e.hint).toMatch(/declare linux\/amd64\/v2/);
    expect(e.details).toMatchObject({ missing: ['avx', 'avx2', 'bmi1', 'bmi2', 'f16c', 'fma', 'lzcnt', 'movbe', 'xsave'], locked: ['linux/amd64/v3'] });
  });

  it('names the closest variant when the variants lack different things', () => {
    const e = refusal(() => chooseImage([V4, image('amd64', 'v3', 'x86-64-v3', ['amx-tile'])], host('haswell-v3.txt'), { environment: 'x' }));
    expect(e.code).toBe('CPU_UNSUPPORTED');
    expect(e.message).toBe("This CPU lacks amx-tile needed by `x`'s closest locked variant linux/amd64/v3, and no other variant fits (locked: linux/amd64/v3, linux/amd64/v4); this host is x86-64-v3.");
  });

  it('says every locked variant when the closest gap is common to all', () => {
    const e = refusal(() => chooseImage([V4], host('haswell-v3.txt'), { environment: 'x' }));
    expect(e.message).toBe('This CPU lacks avx512bw, avx512cd, avx512dq, avx512f, avx512vl needed by every locked variant of `x` (locked: linux/amd64/v4); this host is x86-64-v3.');
  });

  it('says so when the host reaches no known level', () => {
    const bare = { architecture: 'amd64', features: new Set(['sse2']), level: 'unknown', os: 'linux' };
    expect(() => chooseImage([V2], bare)).toThrow(/needed by every locked variant of this environment \(locked: linux\/amd64\/v2\); this host reaches no known CPU level\./);
  });

  it('refuses with ARCH_UNSUPPORTED when nothing is locked for this architecture', () => {
    const e = refusal(() => chooseImage([V3, V4], host('neoverse-n1.txt', 'arm64'), { environment: 'x' }));
    expect(e.code).toBe('ARCH_UNSUPPORTED');
    expect(e.exitCode).toBe(4);
    expect(e.message).toBe("No image of `x` is locked for this host's platform linux/arm64 (locked: linux/amd64/v3, linux/amd64/v4).");
    expect(e.hint).toMatch(/^Add linux\/arm64 to `platforms:`/);
  });
});
