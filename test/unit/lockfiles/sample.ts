// Shared fixtures for the lockfile tests: a two-environment declaration built by hand and the
// lock that matches it (amd64 v2/v3/v4 variants plus arm64), with deterministic fake digests.

import type { Declaration, EnvironmentDecl } from '../../../core/declaration/model.js';
import { sha256Digest } from '../../../core/oci/digest.js';
import { MEDIA } from '../../../core/oci/media-types.js';
import { declarationHash } from '../../../lockfiles/declaration-hash.js';
import type { Descriptor, LockedImage, Lockfile } from '../../../lockfiles/model.js';

export const GOLDEN = new URL('../../fixtures/lockfiles/two-environments.lock', import.meta.url);

function blob(mediaType: string, label: string, size: number): Descriptor {
  return { mediaType, digest: sha256Digest(label), size };
}

function image(name: string, variant: string | undefined, arch: LockedImage['arch'], architecture = 'amd64'): LockedImage {
  const platform = variant === undefined ? { os: 'linux', architecture } : { os: 'linux', architecture, variant };
  return {
    platform,
    manifest: blob(MEDIA.ociManifest, `${name} manifest`, 1200),
    config: blob(MEDIA.ociConfig, `${name} config`, 2300),
    layers: [blob(MEDIA.ociLayerGzip, `${name} base layer`, 3_145_728), blob(MEDIA.ociLayerZstd, `${name} app layer`, 40_960)],
    arch,
  };
}

export function environmentDecl(fields: Partial<EnvironmentDecl> & { name: string; image: string }): EnvironmentDecl {
  return {
    platforms: [],
    cpu: undefined,
    description: undefined,
    env: {},
    prependPath: {},
    appendPath: {},
    unset: [],
    binds: [],
    host: { devices: [], gpu: 'none', mpi: 'none', libraries: [] },
    commands: [],
    provides: [],
    ...fields,
  };
}

/** "chemistry" sorts before "hydrology" by code point, after it in the Slovak locale ("ch" follows "h"). */
export function sampleDeclaration(): Declaration {
  return {
    version: 1,
    file: '/srv/project/envlock.yaml',
    format: 'yaml',
    environments: [
      environmentDecl({
        name: 'chemistry',
        image: '127.0.0.1:5000/chem/toolkit:2.1',
        platforms: ['linux/amd64', 'linux/arm64'],
        cpu: 'x86-64-v2',
        host: { devices: [], gpu: 'none', mpi: 'host', libraries: ['libmpi.so.40'] },
        commands: ['python3'],
        env: { OMP_NUM_THREADS: '1' },
      }),
      environmentDecl({
        name: 'hydrology',
        image: 'oci:images/hydro:1.0',
        host: { devices: ['nvidia.com/gpu=all'], gpu: 'nvidia', mpi: 'none', libraries: [] },
      }),
    ],
  };
}

export function sampleLock(): Lockfile {
  return {
    version: 1,
    envlockVersion: '0.1.0',
    declarationHash: declarationHash(sampleDeclaration()),
    environments: [
      {
        name: 'chemistry',
        reference: '127.0.0.1:5000/chem/toolkit:2.1',
        resolved: '127.0.0.1:5000/chem/toolkit:2.1',
        index: blob(MEDIA.ociIndex, 'chemistry index', 1530),
        platforms: ['linux/amd64', 'linux/arm64'],
        cpu: 'x86-64-v2',
        host: { devices: [], gpu: 'none', mpi: 'host', libraries: ['libmpi.so.40'] },
        images: [
          image('chem amd64 v2', 'v2', { level: 'x86-64-v2', features: ['cx16', 'lahf_lm', 'popcnt', 'sse4_1', 'sse4_2', 'ssse3'] }),
          image('chem amd64 v3', 'v3', {
            level: 'x86-64-v3',
            microarch: 'haswell',
            features: ['abm', 'avx', 'avx2', 'bmi1', 'bmi2', 'cx16', 'f16c', 'fma', 'lahf_lm', 'movbe', 'popcnt', 'sse4_1', 'sse4_2', 'ssse3', 'xsave'],
          }),
          image('chem amd64 v4', 'v4', {
            level: 'x86-64-v4',
            microarch: 'skylake-avx512',
            features: ['abm', 'avx', 'avx2', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512f', 'avx512vl', 'bmi1', 'bmi2', 'cx16', 'f16c', 'fma', 'lahf_lm', 'movbe', 'popcnt', 'sse4_1', 'sse4_2', 'ssse3', 'xsave'],
          }),
          image('chem arm64', 'v8', { level: 'armv8.0-a', features: ['asimd', 'fp'] }, 'arm64'),
        ],
      },
      {
        name: 'hydrology',
        reference: 'oci:images/hydro:1.0',
        resolved: 'oci:images/hydro:1.0',
        platforms: [],
        host: { devices: ['nvidia.com/gpu=all'], gpu: 'nvidia', mpi: 'none', libraries: [] },
        images: [image('hydro amd64', undefined, { features: [] })],
      },
    ],
  };
}

/** The thrown error, for asserting on its code, message, hint and exit status. */
export function thrown(fn: () => unknown): Error & { code?: string; hint?: string; exitCode?: number; details?: Record<string, unknown> } {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to throw');
}

export async function rejected(promise: Promise<unknown>): Promise<Error & { code?: string; hint?: string; exitCode?: number }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the promise to reject');
}
