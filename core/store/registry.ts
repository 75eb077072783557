// The store's registry of lockfiles that pulled into it: one small JSON per lockfile, keyed by
// the sha256 of its absolute path. gc keeps whatever a still-existing lockfile uses.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from '../errors.js';
import { assertDigest } from '../oci/digest.js';
import { storeIoError, writeFileAtomic } from './fs-util.js';
import type { Store } from './store.js';
import type { Lockfile } from '../../lockfiles/model.js';

export interface Registration {
  /** Absolute path of the lockfile. */
  path: string;
  /** Blob and rootfs (manifest) digests the lockfile uses, sorted. */
  digests: string[];
  registeredAt: string;
}

export interface RegistrationEntry extends Registration {
  /** The registry file itself. */
  file: string;
  /** Whether the lockfile still exists; a missing lockfile protects nothing. */
  exists: boolean;
}

/** Everything a lockfile uses, in every environment and platform: what pull and run register. */
export function lockfileDigests(lock: Pick<Lockfile, 'environments'>): string[] {
  return lock.environments.flatMap((e) => [
    ...(e.index ? [e.index.digest] : []),
    ...e.images.flatMap((i) => [i.manifest.digest, i.config.digest, ...i.layers.map((l) => l.digest)]),
  ]);
}

function registrationFile(store: Store, lockfilePath: string): string {
  const key = createHash('sha256').update(path.resolve(lockfilePath)).digest('hex');
  return path.join(store.dir('lockfiles'), `${key}.json`);
}

function registeredDigests(usedDigests: readonly string[]): string[] {
  return [...new Set(usedDigests.map((d) => assertDigest(d, 'a registered blob')))].sort();
}

function sameRegistration(text: string | undefined, lockfilePath: string, digests: readonly string[]): boolean {
  try {
    const previous = JSON.parse(text ?? '') as Registration;
    return previous.path === path.resolve(lockfilePath) && JSON.stringify(previous.digests) === JSON.stringify(digests);
  } catch {
    return false;
  }
}

/**
 * Whether the store already records exactly these digests for the lockfile, so registering
 * would change nothing (what a warm pull finds; the warm-pull fast path asks it synchronously).
 */
export function registrationIsCurrent(store: Store, lockfilePath: string, usedDigests: readonly string[]): boolean {
  let text: string | undefined;
  try {
    text = readFileSync(registrationFile(store, lockfilePath), 'utf8');
  } catch {
    return false;
  }
  return sameRegistration(text, lockfilePath, registeredDigests(usedDigests));
}

/** Records (or replaces) what a lockfile uses in this store. */
export async function registerLockfile(store: Store, lockfilePath: string, usedDigests: readonly string[]): Promise<string> {
  const digests = registeredDigests(usedDigests);
  await store.prepare();
  const record: Registration = { path: path.resolve(lockfilePath), digests, registeredAt: new Date().toISOString() };
  const file = registrationFile(store, lockfilePath);
  // A warm pull registers the same digests again: leave the file (and the disk) alone then.
  if (sameRegistration(await fs.readFile(file, 'utf8').catch(() => undefined), lockfilePath, digests)) return file;
  try {
    await writeFileAtomic(file, `${JSON.stringify(record, null, 2)}\n`);
  } catch (error) {
    throw storeIoError(error, 'the lockfile registry', store.root);
  }
  return file;
}

export async function unregisterLockfile(store: Store, lockfilePath: string): Promise<void> {
  await fs.rm(registrationFile(store, lockfilePath), { force: true });
}

/** Every registration in the writable store; unreadable entries are skipped. */
export async function readRegistrations(store: Store): Promise<RegistrationEntry[]> {
  const dir = store.dir('lockfiles');
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const entries: RegistrationEntry[] = [];
  for (const name of names.filter((n) => /^[a-f0-9]{64}\.json$/.test(n)).sort()) {
    const file = path.join(dir, name);
    try {
      const value = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<Registration>;
      if (typeof value.path !== 'string' || !Array.isArray(value.digests)) continue;
      // Only a definite "not there" releases the lockfile's digests; a lockfile we cannot stat
      // right now (EACCES, a hiccup of the filesystem) keeps protecting them.
      const exists = await fs.stat(value.path).then(
        () => true,
        (error: unknown) => !['ENOENT', 'ENOTDIR'].includes(errnoCode(error) ?? ''),
      );
      entries.push({
        file,
        path: value.path,
        digests: value.digests.filter((d): d is string => typeof d === 'string'),
        registeredAt: String(value.registeredAt ?? ''),
        exists,
      });
    } catch {
      // A torn or foreign file protects nothing; gc reports it.
    }
  }
  return entries;
}
