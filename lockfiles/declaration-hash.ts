// The hash of the resolution-relevant part of a declaration, recorded in the lockfile so a
// changed declaration is noticed. Only what changes the resolved digests is hashed.

import type { Declaration, EnvironmentDecl } from '../core/declaration/model.js';
import { sha256Digest } from '../core/oci/digest.js';
import { compareCodePoints, sortedSet } from './compare.js';
import type { LockedEnvironment, LockedHostRequest } from './model.js';

/** Bumped if the set or meaning of hashed inputs ever changes; every old lock then reads as stale. */
export const DECLARATION_HASH_SCHEME = 1;

/**
 * What the lock of one environment depends on, in canonical form. Platforms, host devices and
 * host libraries are sets (sorted, no repeats): reordering them in the declaration needs no
 * re-lock. Environment edits, binds, commands, provides and the description are left out: they
 * are read from the declaration at run time and never change which bytes are locked.
 */
export interface EnvironmentInputs {
  name: string;
  image: string;
  platforms: string[];
  cpu: string | undefined;
  host: LockedHostRequest;
}

export function environmentInputs(env: EnvironmentDecl): EnvironmentInputs {
  return canonicalInputs(env.name, env.image, env.platforms, env.cpu, env.host);
}

/** The same inputs as a lock recorded them, to compare with a declaration's. */
export function lockedInputs(env: LockedEnvironment): EnvironmentInputs {
  return canonicalInputs(env.name, env.reference, env.platforms, env.cpu, env.host);
}

/** Sets sorted and deduplicated, so order in the declaration never makes a lock stale. */
function canonicalInputs(name: string, image: string, platforms: readonly string[], cpu: string | undefined, host: LockedHostRequest): EnvironmentInputs {
  return {
    name,
    image,
    platforms: sortedSet(platforms),
    cpu,
    host: { devices: sortedSet(host.devices), gpu: host.gpu, mpi: host.mpi, libraries: sortedSet(host.libraries) },
  };
}

/**
 * JSON with object keys in code-point order and no whitespace, so equal values give equal text
 * on every machine and locale. Undefined members are left out, as JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => compareCodePoints(a, b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('cannot hash a non-finite number');
  return JSON.stringify(value);
}

/**
 * Whether two values have the same canonicalJson text, found without building either text (the
 * lock compares every environment with its previous entry; the strings were most of its garbage).
 */
export function canonicallyEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    // canonicalJson writes an undefined item as null.
    return a.every((item, i) => canonicallyEqual(item ?? null, b[i] ?? null));
  }
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return false;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  // Undefined members are left out of the text, so they count as absent.
  const keys = Object.keys(left).filter((k) => left[k] !== undefined);
  if (keys.length !== Object.keys(right).filter((k) => right[k] !== undefined).length) return false;
  return keys.every((k) => Object.hasOwn(right, k) && canonicallyEqual(left[k], right[k]));
}

/** "sha256:<hex>" over the canonical JSON of every environment's inputs, sorted by name. */
export function declarationHash(decl: Declaration): string {
  const environments = decl.environments.map(environmentInputs).sort((a, b) => compareCodePoints(a.name, b.name));
  return sha256Digest(canonicalJson({ scheme: DECLARATION_HASH_SCHEME, environments }));
}
