// Lock-time selection over crafted image indexes: every variant, a declared variant, a CPU
// minimum, extra features, and the PLATFORM_UNAVAILABLE message.

import { describe, expect, it } from 'vitest';
import { EnvlockError } from '../../../core/errors.js';
import { levelFeatures } from '../../../core/arch/levels.js';
import { findMicroarch } from '../../../core/arch/microarchs.js';
import { FEATURES_ANNOTATION, selectFromIndex, selectSingleManifest, type IndexManifest, type OciPlatform } from '../../../core/arch/select.js';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
let counter = 0;

function entry(platform: OciPlatform | undefined, annotations?: Record<string, string>): IndexManifest {
  counter += 1;
  const digest = `sha256:${counter.toString(16).padStart(64, '0')}`;
  return { mediaType: MANIFEST, digest, size: 500 + counter, ...(platform ? { platform } : {}), ...(annotations ? { annotations } : {}) };
}

const amd64 = (variant?: string): OciPlatform => (variant ? { os: 'linux', architecture: 'amd64', variant } : { os: 'linux', architecture: 'amd64' });
const arm64 = (variant?: string): OciPlatform => (variant ? { os: 'linux', architecture: 'arm64', variant } : { os: 'linux', architecture: 'arm64' });

function variants(choice: { candidates: { platform: { variant?: string } }[] }): (string | undefined)[] {
  return choice.candidates.map((c) => c.platform.variant);
}

const v1 = entry(amd64());
const v2 = entry(amd64('v2'));
const v3 = entry(amd64('v3'));
const v4 = entry(amd64('v4'));
const arm = entry(arm64('v8'));
const attestation = entry({ os: 'unknown', architecture: 'unknown' }, { 'vnd.docker.reference.type': 'attestation-manifest' });
// Listed out of order on purpose: the result is sorted, best last.
const FULL = [v3, attestation, v1, arm, v4, v2];

describe('selectFromIndex', () => {
  it('locks every amd64 variant for linux/amd64, a missing variant being v1', () => {
    const [choice] = selectFromIndex({ reference: 'r/x:1', manifests: FULL, platforms: ['linux/amd64'] });
    expect(choice!.declared).toBe('linux/amd64');
    expect(variants(choice!)).toEqual(['v1', 'v2', 'v3', 'v4']);
    expect(choice!.candidates[0]!.manifest).toEqual({ mediaType: MANIFEST, digest: v1.digest, size: v1.size });
    expect(choice!.candidates.map((c) => c.arch.level)).toEqual(['x86-64', 'x86-64-v2', 'x86-64-v3', 'x86-64-v4']);
    expect(choice!.candidates[2]!.arch).toEqual({ level: 'x86-64-v3', features: levelFeatures('x86-64-v3') });
  });

  it('picks exactly the declared variant', () => {
    const [choice] = selectFromIndex({ reference: 'r/x:1', manifests: FULL, platforms: ['linux/amd64/v3'] });
    expect(choice!.declared).toBe('linux/amd64/v3');
    expect(choice!.candidates.map((c) => c.manifest.digest)).toEqual([v3.digest]);
    const [plain] = selectFromIndex({ reference: 'r/x:1', manifests: FULL, platforms: ['linux/amd64/v1'] });
    expect(plain!.candidates.map((c) => c.manifest.digest)).toEqual([v1.digest]);
  });

  it('treats arm64 without a variant and arm64/v8 alike, and normalises aarch64', () => {
    const bare = entry(arm64());
    const [a] = selectFromIndex({ reference: 'r/x:1', manifests: [bare], platforms: ['linux/arm64/v8'] });
    expect(a!.candidates[0]!.platform).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(a!.candidates[0]!.arch.level).toBe('armv8-a');
    const [b] = selectFromIndex({ reference: 'r/x:1', manifests: FULL, platforms: ['linux/aarch64'] });
    expect(b!.declared).toBe('linux/arm64');
    expect(b!.candidates.map((c) => c.manifest.digest)).toEqual([arm.digest]);
  });

  it('filters variants below a cpu minimum and records the minimum', () => {
    const [choice] = selectFromIndex({ reference: 'r/x:1', manifests: FULL, platforms: ['linux/amd64'], cpu: 'x86-64-v3' });
    expect(variants(choice!)).toEqual(['v3', 'v4']);
    expect(choice!.candidates[1]!.arch.level).toBe('x86-64-v4');
  });

  it('turns a named microarch into its level and adds its features to every candidate', () => {
    const [choice] = selectFromIndex({ reference: 'r/x:1', manifests: FULL, platforms: ['linux/amd64', 'linux/arm64'], cpu: 'haswell' });
    expect(variants(choice!)).toEqual(['v3', 'v4']);
    const haswell = findMicroarch('haswell')!.features;
    for (const c of choice!.candidates) {
      expect(c.arch.microarch).toBe('haswell');
      expect(haswell.every((f) => c.arch.features.includes(f))).toBe(true);
      expect([...c.arch.features].sort()).toEqual(c.arch.features);
    }
    expect(choice!.candidates[1]!.arch.features).toContain('avx512f');
    // The cpu minimum is an amd64 name: the arm64 platform is untouched by it.
    expect(selectFromIndex({ reference: 'r/x:1', manifests: FULL, platforms: ['linux/arm64'], cpu: 'haswell' })[0]!.candidates[0]!.arch.microarch).toBeUndefined();
  });

  it('keeps the best lower variant when none sits at the minimum, needing the minimum', () => {
    const [choice] = selectFromIndex({ reference: 'r/x:1', manifests: [v1, v2, v4], platforms: ['linux/amd64'], cpu: 'x86-64-v3' });
    // A v3 host cannot run v4, so the v2 build stays, but it is recorded as needing v3.
    expect(variants(choice!)).toEqual(['v2', 'v4']);
    expect(choice!.candidates[0]!.arch.level).toBe('x86-64-v3');
    expect(choice!.candidates[0]!.arch.features).toEqual(levelFeatures('x86-64-v3'));
  });

  it('adds features from platform.features and the envlock annotation', () => {
    const spr = entry(amd64('v4'), { [FEATURES_ANNOTATION]: 'avx512_fp16, amx_tile' });
    const reserved = entry({ ...amd64('v3'), features: ['sha_ni'] });
    const [choice] = selectFromIndex({ reference: 'r/x:1', manifests: [v4, spr, reserved], platforms: ['linux/amd64'] });
    expect(choice!.candidates.map((c) => c.manifest.digest)).toEqual([reserved.digest, v4.digest, spr.digest]);
    expect(choice!.candidates[0]!.arch.features).toContain('sha');
    expect(choice!.candidates[2]!.arch.features).toEqual(expect.arrayContaining(['amx-tile', 'avx512fp16', 'avx512f']));
  });

  it('uses the first of identical entries (image-index.md)', () => {
    const again = entry(amd64('v3'));
    const [choice] = selectFromIndex({ reference: 'r/x:1', manifests: [v3, again], platforms: ['linux/amd64'] });
    expect(choice!.candidates.map((c) => c.manifest.digest)).toEqual([v3.digest]);
  });

  it('refuses a platform the index lacks, listing what it offers', () => {
    try {
      selectFromIndex({ reference: 'r/x:1', manifests: [v2, v3, arm, attestation, entry(undefined)], platforms: ['linux/ppc64le'] });
      expect.unreachable();
    } catch (error) {
      const e = error as EnvlockError;
      expect(e.code).toBe('PLATFORM_UNAVAILABLE');
      expect(e.exitCode).toBe(1);
      expect(e.message).toBe('Image `r/x:1` has no manifest for linux/ppc64le; it offers linux/amd64/v2, linux/amd64/v3, linux/arm64/v8.');
      expect(e.hint).toMatch(/^Declare one of the offered platforms/);
    }
    expect(() => selectFromIndex({ reference: 'r/x:1', manifests: [v2, v3], platforms: ['linux/amd64/v4'] })).toThrow(/no manifest for linux\/amd64\/v4; it offers linux\/amd64\/v2, linux\/amd64\/v3\./);
  });

  it('passes on an unknown cpu name and a malformed platform', () => {
    expect(() => selectFromIndex({ reference: 'r', manifests: FULL, platforms: ['linux/amd64'], cpu: 'haswel' })).toThrow(expect.objectContaining({ code: 'CPU_LEVEL_UNKNOWN' }));
    expect(() => selectFromIndex({ reference: 'r', manifests: FULL, platforms: ['linux'] })).toThrow(expect.objectContaining({ code: 'PLATFORM_INVALID' }));
  });
});

describe('selectSingleManifest', () => {
  const descriptor = { mediaType: MANIFEST, digest: `sha256:${'a'.repeat(64)}`, size: 700 };

  it('serves a platform the config matches', () => {
    const [choice] = selectSingleManifest({ reference: 'r/one', manifest: descriptor, platform: amd64(), platforms: ['linux/amd64'] });
    expect(choice!.candidates).toEqual([{ manifest: descriptor, platform: { os: 'linux', architecture: 'amd64', variant: 'v1' }, arch: { level: 'x86-64', features: levelFeatures('x86-64') } }]);
  });

  it('refuses a platform the config does not match', () => {
    expect(() => selectSingleManifest({ reference: 'r/one', manifest: descriptor, platform: amd64(), platforms: ['linux/arm64'] })).toThrow(
      expect.objectContaining({ code: 'PLATFORM_UNAVAILABLE', message: 'Image `r/one` has no manifest for linux/arm64; it offers linux/amd64/v1.' }),
    );
  });
});
