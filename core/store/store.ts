// A store handle: the writable store plus the read-only stores searched before it, and the
// tunables of its locks. Every store operation takes one of these.

import os from 'node:os';
import path from 'node:path';
import type { Context } from '../context.js';
import { DIRS, LAYOUT_FILE, LAYOUT_VERSION, readLayoutVersion } from './layout.js';
import { fsyncDir, mkdirs, storeIoError, writeFileAtomic } from './fs-util.js';
import { storeRoots, type StoreRoots } from './paths.js';

export interface StoreOptions {
  /** A lock whose heartbeat is older than this is stale and may be broken (default 30 s). */
  lockStaleMs?: number;
  /** How often a held lock's heartbeat is refreshed (default 5 s). */
  heartbeatMs?: number;
  /** First and longest poll interval while waiting for a lock (default 25 ms .. 1 s). */
  pollMinMs?: number;
  pollMaxMs?: number;
  /** Host name recorded in lock owner records (default os.hostname()). */
  hostname?: string;
  /** fsync every file of a rootfs before publishing it (default true). */
  durableRootfs?: boolean;
}

export class Store {
  readonly root: string;
  readonly readOnly: readonly string[];
  readonly lockStaleMs: number;
  readonly heartbeatMs: number;
  readonly pollMinMs: number;
  readonly pollMaxMs: number;
  readonly hostname: string;
  readonly durableRootfs: boolean;
  private readonly checked = new Map<string, boolean>();
  private prepared: Promise<void> | undefined;

  constructor(roots: StoreRoots, options: StoreOptions = {}) {
    this.root = path.resolve(roots.writable);
    this.readOnly = roots.readOnly.map((p) => path.resolve(p)).filter((p) => p !== this.root);
    this.lockStaleMs = options.lockStaleMs ?? 30_000;
    this.heartbeatMs = options.heartbeatMs ?? Math.max(50, Math.min(5_000, Math.floor(this.lockStaleMs / 4)));
    this.pollMinMs = options.pollMinMs ?? 25;
    this.pollMaxMs = options.pollMaxMs ?? 1_000;
    this.hostname = options.hostname ?? os.hostname();
    this.durableRootfs = options.durableRootfs ?? true;
  }

  /**
   * The store the context points at (--store, ENVLOCK_STORE, ENVLOCK_STORE_RO, XDG default).
   * ENVLOCK_LOCK_STALE_SECONDS sets how long a lock of another host may go without a heartbeat.
   */
  static open(ctx: Pick<Context, 'storeOverride' | 'env' | 'home' | 'cwd'>, options: StoreOptions = {}): Store {
    const stale = Number(ctx.env.ENVLOCK_LOCK_STALE_SECONDS);
    const fromEnv = ctx.env.ENVLOCK_LOCK_STALE_SECONDS?.trim() && Number.isFinite(stale) && stale > 0 ? { lockStaleMs: stale * 1000 } : {};
    return new Store(storeRoots(ctx), { ...fromEnv, ...options });
  }

  /** Read-only stores first, then the writable one: the order every lookup uses. */
  searchRoots(): string[] {
    return [...this.readOnly, this.root].filter((root) => this.usable(root));
  }

  dir(name: keyof typeof DIRS): string {
    return path.join(this.root, DIRS[name]);
  }

  /** Whether a store exists with a layout we read; throws on a newer layout. Cached per root. */
  private usable(root: string): boolean {
    const known = this.checked.get(root);
    if (known !== undefined) return known;
    const ok = readLayoutVersion(root) !== undefined || root === this.root;
    this.checked.set(root, ok);
    return ok;
  }

  /** Creates the writable store's directories and version file once; maps EROFS/EACCES/ENOSPC. */
  prepare(): Promise<void> {
    this.prepared ??= this.createLayout().catch((error: unknown) => {
      this.prepared = undefined;
      throw storeIoError(error, 'its directory layout', this.root);
    });
    return this.prepared;
  }

  private async createLayout(): Promise<void> {
    readLayoutVersion(this.root);
    await mkdirs(this.root);
    for (const name of Object.values(DIRS)) await mkdirs(path.join(this.root, name));
    await mkdirs(path.join(this.root, DIRS.blobs, 'sha256'));
    await mkdirs(path.join(this.root, DIRS.rootfs, 'sha256'));
    await mkdirs(path.join(this.root, DIRS.squashfs, 'sha256'));
    if (readLayoutVersion(this.root) === undefined) {
      await writeFileAtomic(path.join(this.root, LAYOUT_FILE), `${LAYOUT_VERSION}\n`);
      await fsyncDir(this.root);
    }
    this.checked.set(this.root, true);
  }
}
