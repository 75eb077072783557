// The prepared-run cache: what `run` worked out for an environment (its PreparedEnvironment),
// so a repeated run reads the declaration, the lock and one small file, stats the image, and
// execs. The key is everything the entry depends on: envlock's version, the caller (uid, HOME),
// the project directory, the stores searched, this CPU's features (as every command sees them),
// and the exact bytes of the declaration and the lock. Entries are the caller's own (0600); one
// that is torn, foreign, or names an image outside the stores is ignored (docs/security.md).

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Context, Env } from '../context.js';
import { maskCpuFeatures } from '../arch/cpu-mask.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { readOwnText, readRegularFile } from '../fs/read-own.js';
import { DECLARATION_MAX_BYTES, LOCKFILE_MAX_BYTES } from '../input-limits.js';
import { projectDir } from '../project-dir.js';
import { loadExecAddon, type ExecAddon } from '../runtime/native.js';
import { rootfsPathIn, squashfsPathIn } from '../store/layout.js';
import { storeRoots } from '../store/paths.js';
import { sampleChange } from '../store/image-sample.js';
import { envlockVersion } from '../version.js';
import { imageIdentity, metaPathOf } from './find-locked-image.js';
import { trustPolicy, untrustedReason } from './store-trust.js';
import type { PreparedEnvironment } from './prepared.js';

// 4: entries carry the image's file sample, checked at every hit.
const FORMAT = 4;
const DECLARATIONS = ['envlock.yaml', 'envlock.toml'];
/** No real entry comes near this; a bigger file is not ours to parse. */
const MAX_BYTES = 1 << 20;

interface CacheFile {
  format: number;
  environments: string[];
  prepared: Record<string, PreparedEnvironment>;
}

export interface CacheSlot {
  file: string;
  declarationFile: string;
  key: string;
  /** The stores searched when the key was made: a cached image must lie in one of them. */
  stores: string[];
}

function read(file: string, maxBytes: number): Buffer | undefined {
  try {
    // A project has one of the two declaration names: the other is asked for without an exception.
    // A file over the limit is the full CLI's to refuse (input-limits.ts).
    return statSync(file, { throwIfNoEntry: false }) === undefined ? undefined : readRegularFile(file, maxBytes);
  } catch {
    return undefined;
  }
}

/** A /proc file (its size reads as 0, so only a read to the end finds its length). */
function readProcFile(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/**
 * This CPU's features as CPUID reports them, through the addon `run` loads anyway to exec (on a
 * large node /proc/cpuinfo is slow to read); /proc/cpuinfo's feature line when it is not built.
 * ENVLOCK_CPU_MASK applies here as in every other command.
 */
function cpuFlags(ctx: Context, addon: ExecAddon | undefined): string | undefined {
  try {
    if (addon !== undefined) {
      const cpu = addon.cpuFeatures();
      return `${cpu.architecture}:${maskCpuFeatures(cpu.architecture, cpu.features, ctx.env).sort().join(',')}`;
    }
  } catch {
    // a mask that cannot be applied: keyed by the raw line and mask below, as without the addon
  }
  const line = readProcFile('/proc/cpuinfo')?.toString('latin1').split('\n').find((l) => /^(flags|Features)\s*:/.test(l));
  return line === undefined ? undefined : `${line}\0${ctx.env.ENVLOCK_CPU_MASK ?? ''}`;
}

/** The exec addon when it is built: CPU features and hashing without node:crypto. */
function execAddon(): ExecAddon | undefined {
  try {
    return loadExecAddon();
  } catch {
    return undefined;
  }
}

/** Where this invocation's entry lives; undefined when the project is not in plain shape. */
export function cacheSlot(ctx: Context): CacheSlot | undefined {
  const dir = projectDir(ctx);
  const present = DECLARATIONS.map((name) => ({ name, bytes: read(path.join(dir, name), DECLARATION_MAX_BYTES) })).filter((d) => d.bytes !== undefined);
  // Without a lock there is nothing to answer: its absence may cost an exception.
  const lock = readRegularFile(path.join(dir, 'envlock.lock'), LOCKFILE_MAX_BYTES);
  const addon = execAddon();
  const flags = cpuFlags(ctx, addon);
  if (present.length !== 1 || lock === undefined || flags === undefined || typeof process.getuid !== 'function') return undefined;
  const roots = storeRoots(ctx);
  const stores = [...roots.readOnly, roots.writable];
  const fields = [envlockVersion(), String(FORMAT), String(process.getuid()), ctx.home, dir, present[0]!.name, stores.join('\0'), flags, String(present[0]!.bytes!.length)];
  // Each field ends in a NUL, then the declaration's bytes and the lock's (the length above splits them).
  const parts = [Buffer.from(fields.map((f) => `${f}\0`).join(''), 'utf8'), present[0]!.bytes!, lock];
  const key = addon === undefined ? parts.reduce((hash, part) => hash.update(part), createHash('sha256')).digest('hex') : addon.sha256Hex(parts);
  return { file: path.join(roots.writable, 'prepared', `${key}.json`), declarationFile: path.join(dir, present[0]!.name), key, stores };
}


export function readCache(slot: CacheSlot): CacheFile | undefined {
  // Private: an entry names the caller's binds and variables.
  const text = readOwnText(slot.file, { forbiddenMode: 0o077, maxBytes: MAX_BYTES });
  if (text === undefined) return undefined;
  try {
    const data = JSON.parse(text) as CacheFile;
    return data.format === FORMAT && Array.isArray(data.environments) && typeof data.prepared === 'object' && data.prepared !== null ? data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The cached entry for `name`, if it still holds: its image lies where the store layout puts it
 * in one of the stores searched, and is the very file or directory (and meta record) it was when
 * the entry was written, so gc, repair or a re-pull since sends the run down the slow path.
 */
export function cachedEnvironment(cache: CacheFile, name: string, slot: CacheSlot, env: Env): PreparedEnvironment | undefined {
  const entry = Object.hasOwn(cache.prepared, name) ? cache.prepared[name] : undefined;
  const image = entry?.image;
  if (image === undefined || typeof image.path !== 'string' || typeof image.store !== 'string' || !slot.stores.includes(image.store)) return undefined;
  let expected: string;
  try {
    expected = image.form === 'squashfs' ? squashfsPathIn(image.store, image.manifest) : rootfsPathIn(image.store, image.manifest);
  } catch {
    return undefined;
  }
  if (image.path !== expected || entry!.imageStat === undefined) return undefined;
  try {
    if (imageIdentity(image, statSync) !== entry!.imageStat) return undefined;
  } catch {
    return undefined;
  }
  // A tree's files can change without its directory or meta changing: the sample, a few lstats.
  if (image.form === 'tree' && sampleChange(image.path, image.sample) !== undefined) return undefined;
  // A read-only store is trusted at every start, not only when the entry was written: its
  // modes may have changed since (store-trust.ts; a few lstat calls).
  const writable = slot.stores[slot.stores.length - 1];
  if (image.store !== writable && untrustedReason(image.store, [image.path, metaPathOf(image)], trustPolicy(env)) !== undefined) return undefined;
  return entry;
}

/** Adds an entry; best effort, since a read-only or full store only loses the shortcut. */
export async function writeCache(slot: CacheSlot, names: string[], prepared: PreparedEnvironment): Promise<void> {
  try {
    const current = readCache(slot) ?? { format: FORMAT, environments: names, prepared: {} };
    current.prepared[prepared.name] = prepared;
    mkdirSync(path.dirname(slot.file), { recursive: true, mode: 0o700 });
    // Private: an entry names the caller's binds and variables. A cache may be lost, so no fsync.
    await writeFileAtomic(slot.file, `${JSON.stringify(current)}\n`, { mode: 0o600, durable: false });
  } catch {
    // The cache is an optimisation: failing to write it never fails the run.
  }
}
