// Leases: how a running entry (run, shell, a module wrapper, a Slurm step) tells `gc` that it
// uses an image. The launcher's entry library (native/src/lease.c) creates
// leases/<alg>-<hex>.<host>.<pid>.<starttime> in the store that holds the image before it opens
// the image and removes it at the end; gc keeps every image with a live lease (liveness.ts).

import fs from 'node:fs/promises';
import path from 'node:path';
import { isDigest } from '../oci/digest.js';
import { localHolderAlive } from './liveness.js';

export const LEASES_DIR = 'leases';

/**
 * From another host a lease cannot be checked against a process, only against its mtime: a
 * supervised entry refreshes it every minute, an unsupervised one (`pid host`, a module wrapper)
 * never does, so a remote lease counts as live for a day after its last refresh.
 */
export const REMOTE_LEASE_TTL_MS = 24 * 3600_000;

/** The `lease` line for an image in `imageStore` when that is the writable store `writable`. */
export function leaseFor(imageStore: string, manifest: string, writable: string): { dir: string; name: string } | undefined {
  // Store roots usually arrive resolved already: equal strings need no resolving (a run pays for each).
  if (imageStore !== writable && path.resolve(imageStore) !== path.resolve(writable)) return undefined;
  return { dir: path.join(writable, LEASES_DIR), name: manifest.replace(':', '-') };
}

export interface Lease {
  file: string;
  /** The image's manifest digest. */
  digest: string;
  host: string;
  pid: number;
  start: string;
  live: boolean;
}

/** NAME.HOST.PID.STARTTIME, where NAME is <alg>-<hex> and HOST may itself hold dots. */
function parseLease(name: string): Omit<Lease, 'file' | 'live'> | undefined {
  const match = /^([a-z0-9]+)-([a-f0-9]+)\.(.+)\.([0-9]+)\.([0-9]+)$/.exec(name);
  if (match === null) return undefined;
  const digest = `${match[1]}:${match[2]}`;
  if (!isDigest(digest)) return undefined;
  return { digest, host: match[3]!, pid: Number(match[4]), start: match[5]! };
}

/** Every lease in the store, each judged live or dead now. Unparseable names are ignored. */
export async function readLeases(root: string, thisHost: string, now = Date.now()): Promise<Lease[]> {
  const dir = path.join(root, LEASES_DIR);
  const leases: Lease[] = [];
  for (const name of (await fs.readdir(dir).catch(() => [] as string[])).sort()) {
    const parsed = parseLease(name);
    if (parsed === undefined) continue;
    const file = path.join(dir, name);
    const local = localHolderAlive(parsed, thisHost);
    let live = local;
    if (live === undefined) {
      const stat = await fs.stat(file).catch(() => undefined);
      live = stat !== undefined && now - stat.mtimeMs < REMOTE_LEASE_TTL_MS;
    }
    leases.push({ file, ...parsed, live });
  }
  return leases;
}

/** The manifest digests with a live lease. */
export async function leasedDigests(root: string, thisHost: string): Promise<Set<string>> {
  return new Set((await readLeases(root, thisHost)).filter((l) => l.live).map((l) => l.digest));
}
