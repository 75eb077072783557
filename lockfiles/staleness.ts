// Whether envlock.lock still matches the declaration, and if not, why: a list of one-sentence
// reasons (never a bare boolean), in a fixed order so they can be shown and snapshotted.

import path from 'node:path';
import type { Declaration } from '../core/declaration/model.js';
import { EnvlockError } from '../core/errors.js';
import { compareCodePoints, sortedSet } from './compare.js';
import type { EnvironmentInputs } from './declaration-hash.js';
import { declarationHash, environmentInputs, lockedInputs } from './declaration-hash.js';
import type { Lockfile } from './model.js';
import { LOCKFILE_NAME, LOCKFILE_VERSION } from './model.js';
import { quoted, shown } from '../core/shown.js';

export const REASON_NO_LOCK = `no ${LOCKFILE_NAME} exists`;
export const REASON_HASH = 'declaration changed since the lock was written';

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Reasons one environment's lock no longer fits its declaration, in field order. */
function environmentReasons(declared: EnvironmentInputs, locked: EnvironmentInputs): string[] {
  const name = quoted(declared.name);
  const reasons: string[] = [];
  if (declared.image !== locked.image) reasons.push(`image of ${name} changed from ${shown(locked.image)} to ${shown(declared.image)}`);
  const removed = locked.platforms.filter((p) => !declared.platforms.includes(p));
  const added = declared.platforms.filter((p) => !locked.platforms.includes(p));
  for (const p of removed) reasons.push(`platform ${p} is no longer declared for ${name}`);
  for (const p of added) reasons.push(`platform ${p} was added for ${name}`);
  if (declared.cpu !== locked.cpu) {
    reasons.push(`cpu minimum of ${name} changed from ${locked.cpu ?? 'none'} to ${declared.cpu ?? 'none'}`);
  }
  if (!sameSet(declared.host.devices, locked.host.devices)) reasons.push(`host devices of ${name} changed`);
  if (declared.host.gpu !== locked.host.gpu) reasons.push(`host gpu of ${name} changed from ${locked.host.gpu} to ${declared.host.gpu}`);
  if (declared.host.mpi !== locked.host.mpi) reasons.push(`host mpi of ${name} changed from ${locked.host.mpi} to ${declared.host.mpi}`);
  if (!sameSet(declared.host.libraries, locked.host.libraries)) reasons.push(`host libraries of ${name} changed`);
  return reasons;
}

/**
 * Empty when the lock fits the declaration. Otherwise: a format reason first, then for each
 * environment name in code-point order its reasons in a fixed field order (added or removed;
 * image; platforms removed, then added; cpu; host devices, gpu, mpi, libraries). When no field
 * differs but the recorded declaration hash does (a hand-edited lock, a new hash scheme), the
 * single reason is REASON_HASH.
 */
export function staleReasons(decl: Declaration, lock: Lockfile | undefined): string[] {
  if (lock === undefined) return [REASON_NO_LOCK];
  const reasons: string[] = [];
  if (lock.version !== LOCKFILE_VERSION) {
    reasons.push(`lockfile format ${lock.version} is older than format ${LOCKFILE_VERSION}, which this envlock writes`);
  }
  const declared = new Map(decl.environments.map((env) => [env.name, environmentInputs(env)]));
  const locked = new Map(lock.environments.map((env) => [env.name, lockedInputs(env)]));
  for (const name of sortedSet([...declared.keys(), ...locked.keys()])) {
    const d = declared.get(name);
    const l = locked.get(name);
    if (d === undefined) reasons.push(`environment ${quoted(name)} was removed`);
    else if (l === undefined) reasons.push(`environment ${quoted(name)} was added`);
    else reasons.push(...environmentReasons(d, l));
  }
  if (reasons.length === 0 && lock.declarationHash !== declarationHash(decl)) reasons.push(REASON_HASH);
  return reasons;
}

export interface FreshnessOptions {
  /** The envlock command that needs the lock, for the hint: "run", "lock --check". */
  command: string;
}

/** Throws LOCK_MISSING or LOCK_STALE (exit 3) unless the lock fits the declaration. */
export function assertFresh(decl: Declaration, lock: Lockfile | undefined, options: FreshnessOptions): asserts lock is Lockfile {
  const declName = path.basename(decl.file);
  const lockFile = path.join(path.dirname(decl.file), LOCKFILE_NAME);
  const again = options.command.startsWith('lock') ? '' : `, then run \`envlock ${options.command}\` again`;
  if (lock === undefined) {
    throw new EnvlockError('LOCK_MISSING', `No ${LOCKFILE_NAME} exists beside ${declName}, and \`envlock ${options.command}\` needs one.`, {
      hint: `Run \`envlock lock\` to create it${again}.`,
      details: { file: lockFile, declaration: decl.file, reasons: [REASON_NO_LOCK] },
    });
  }
  const reasons = staleReasons(decl, lock);
  if (reasons.length === 0) return;
  throw new EnvlockError('LOCK_STALE', `${LOCKFILE_NAME} is out of date with ${declName}: ${reasons.join('; ')}.`, {
    hint: `Run \`envlock lock\` to update it${again}.`,
    details: { file: lockFile, declaration: decl.file, reasons },
  });
}
