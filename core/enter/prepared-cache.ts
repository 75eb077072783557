// The prepared-run cache: what `run` worked out for an environment, keyed by the exact bytes of
// envlock.yaml/.toml and envlock.lock, this CPU's features, HOME and envlock's version. A
// repeated `run` reads two files and one small JSON instead of parsing and validating both
// formats, choosing a variant and loading the CPU tables. Any change to any input is a new key.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Context } from '../context.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { projectDir } from '../project-dir.js';
import { loadNative } from '../runtime/native.js';
import { storeRoots } from '../store/paths.js';
import { envlockVersion } from '../version.js';
import type { PreparedEnvironment } from './prepared.js';

const FORMAT = 2;
const DECLARATIONS = ['envlock.yaml', 'envlock.toml'];

interface CacheFile {
  format: number;
  environments: string[];
  prepared: Record<string, PreparedEnvironment>;
}

export interface CacheSlot {
  file: string;
  declarationFile: string;
  key: string;
}

function read(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/**
 * This CPU's features as CPUID reports them, through the addon `run` loads anyway to exec (on a
 * large node /proc/cpuinfo is slow to read); /proc/cpuinfo's feature line when it is not built.
 */
function cpuFlags(): string | undefined {
  try {
    const cpu = loadNative().cpuFeatures();
    return `${cpu.architecture}:${[...cpu.features].sort().join(',')}`;
  } catch {
    const text = read('/proc/cpuinfo')?.toString('latin1');
    return text?.split('\n').find((line) => /^(flags|Features)\s*:/.test(line));
  }
}

/** Where this invocation's entry lives; undefined when the project is not in plain shape. */
export function cacheSlot(ctx: Context): CacheSlot | undefined {
  const dir = projectDir(ctx);
  const present = DECLARATIONS.map((name) => ({ name, bytes: read(path.join(dir, name)) })).filter((d) => d.bytes !== undefined);
  const lock = read(path.join(dir, 'envlock.lock'));
  const flags = cpuFlags();
  if (present.length !== 1 || lock === undefined || flags === undefined) return undefined;
  const hash = createHash('sha256');
  for (const part of [envlockVersion(), String(FORMAT), present[0]!.name, ctx.home, flags]) hash.update(part).update('\0');
  hash.update(present[0]!.bytes!).update('\0').update(lock);
  const key = hash.digest('hex');
  return { file: path.join(storeRoots(ctx).writable, 'prepared', `${key}.json`), declarationFile: path.join(dir, present[0]!.name), key };
}

export function readCache(slot: CacheSlot): CacheFile | undefined {
  try {
    const data = JSON.parse(readFileSync(slot.file, 'utf8')) as CacheFile;
    return data.format === FORMAT ? data : undefined;
  } catch {
    return undefined;
  }
}

/** The cached entry for `name`, if its rootfs is still in place (gc may have removed it). */
export function cachedEnvironment(cache: CacheFile, name: string): PreparedEnvironment | undefined {
  const entry = cache.prepared[name];
  if (entry === undefined) return undefined;
  try {
    return entry.image !== undefined && statSync(entry.image.path).isDirectory() ? entry : undefined;
  } catch {
    return undefined;
  }
}

/** Adds an entry; best effort, since a read-only or full store only loses the shortcut. */
export async function writeCache(slot: CacheSlot, names: string[], prepared: PreparedEnvironment): Promise<void> {
  try {
    const current = readCache(slot) ?? { format: FORMAT, environments: names, prepared: {} };
    current.prepared[prepared.name] = prepared;
    mkdirSync(path.dirname(slot.file), { recursive: true });
    // Not fsynced: a cache entry lost in a crash only costs the next run its shortcut.
    await writeFileAtomic(slot.file, `${JSON.stringify(current)}\n`, { durable: false });
  } catch {
    // The cache is an optimisation: failing to write it never fails the run.
  }
}
