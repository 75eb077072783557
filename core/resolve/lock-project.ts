// `envlock lock` as a function: resolve the environments that need it (in parallel), keep the
// rest byte-identical, and return the new lock plus what changed. Writing is the caller's job.

import path from 'node:path';
import type { Context } from '../context.js';
import type { Declaration, EnvironmentDecl } from '../declaration/model.js';
import { EnvlockError } from '../errors.js';
import { didYouMean } from '../suggest.js';
import { envlockVersion } from '../version.js';
import { declarationHash, environmentInputs, lockedInputs, canonicallyEqual } from '../../lockfiles/index.js';
import type { LockedEnvironment, Lockfile } from '../../lockfiles/model.js';
import { LOCKFILE_VERSION } from '../../lockfiles/model.js';
import { resolveEnvironment } from './resolve-environment.js';
import type { SourceFactory } from './open-source.js';
import { mapLimit } from '../map-limit.js';
import { quoted } from '../shown.js';

export type EnvironmentChange = 'added' | 'updated' | 'unchanged';

export interface LockPlanEntry {
  name: string;
  change: EnvironmentChange;
  /** Whether the registry (or layout) was consulted for it in this run. */
  resolved: boolean;
  locked: LockedEnvironment;
}

export interface LockProjectOptions {
  /** Only these environments are re-resolved; others keep their entries when still fresh. */
  update?: string[];
  extraPlatforms?: string[];
  /** How many environments resolve at once. */
  concurrency?: number;
}

function sameInputs(env: EnvironmentDecl, locked: LockedEnvironment | undefined): boolean {
  return locked !== undefined && canonicallyEqual(environmentInputs(env), lockedInputs(locked));
}

/** A reference pinned by digest is verified once and never re-resolved while its inputs hold. */
function pinnedByDigest(reference: string): boolean {
  return /@sha(256|512):[a-f0-9]+$/.test(reference);
}

export async function lockProject(decl: Declaration, previous: Lockfile | undefined, sources: SourceFactory, ctx: Context, options: LockProjectOptions = {}): Promise<{ lock: Lockfile; entries: LockPlanEntry[] }> {
  const names = decl.environments.map((e) => e.name);
  for (const name of options.update ?? []) {
    if (!names.includes(name)) {
      throw new EnvlockError('ENVIRONMENT_UNKNOWN', `There is no environment ${quoted(name)} in ${path.basename(decl.file)}.${didYouMean(name, names)}`, { hint: `Pick one of: ${names.join(', ')}.` });
    }
  }
  const before = new Map((previous?.environments ?? []).map((e) => [e.name, e]));
  // Configs an earlier lock by this very version checked (resolve-environment.ts lockImage).
  const checkedConfigs = new Map<string, string>();
  if (previous?.envlockVersion === envlockVersion()) for (const e of previous.environments) for (const image of e.images) checkedConfigs.set(image.manifest.digest, image.config.digest);
  const extra = options.extraPlatforms ?? [];
  const entries = await mapLimit(decl.environments, options.concurrency ?? 8, async (env): Promise<LockPlanEntry> => {
    const old = before.get(env.name);
    const fresh = sameInputs(env, old) && extra.length === 0;
    const keep = fresh && ((options.update !== undefined && !options.update.includes(env.name)) || pinnedByDigest(env.image));
    if (keep && old) return { name: env.name, change: 'unchanged', resolved: false, locked: old };
    ctx.reporter.debug(`resolving ${env.name}: ${env.image}`);
    const source = await sources.open(env.image, path.dirname(decl.file));
    const locked = await resolveEnvironment(env, source.source, { extraPlatforms: extra, resolvedName: source.resolvedName, checkedConfigs });
    const change: EnvironmentChange = old === undefined ? 'added' : canonicallyEqual(old, locked) ? 'unchanged' : 'updated';
    return { name: env.name, change, resolved: true, locked };
  });
  const lock: Lockfile = {
    version: LOCKFILE_VERSION,
    envlockVersion: envlockVersion(),
    declarationHash: declarationHash(decl),
    environments: entries.map((e) => e.locked),
  };
  return { lock, entries };
}
