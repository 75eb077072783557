// Cross-process locks without a daemon that work on NFS and Lustre (where flock(2) is not
// reliable): a lock is a directory made with mkdir(2), which is atomic on every POSIX
// filesystem including NFS, holding an owner record. Liveness (liveness.ts): on the holder's
// own host the kernel decides (the process with that pid and start time exists, however busy
// or stopped it is); from another host the holder's heartbeat, which keeps the mtime fresh.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EnvlockError, errnoCode } from '../errors.js';
import { removeTree, storeIoError } from './fs-util.js';
import { localHolderAlive, processStartTime } from './liveness.js';
import type { Store } from './store.js';

export interface LockOwner {
  host: string;
  pid: number;
  /** ISO time the lock was taken. */
  started: string;
  /** Random per acquisition: tells our lock from someone else's at the same path. */
  token: string;
  /** The holder's start time (/proc/PID/stat), so a recycled pid is not taken for it. */
  start?: string;
}

export interface LockOptions {
  signal?: AbortSignal;
  /** Called once when the lock is busy and we start waiting (owner undefined if not yet written). */
  onWait?: (owner: LockOwner | undefined) => void;
  /** false: fail with STORE_LOCKED at once instead of waiting. */
  wait?: boolean;
  /** Give up with STORE_LOCKED after this long (default: wait while the holder is alive). */
  timeoutMs?: number;
}

const OWNER_FILE = 'owner.json';
const NAME = /^[a-z0-9][a-z0-9._-]{0,150}$/;

export function lockPath(store: Store, name: string): string {
  if (!NAME.test(name)) throw new Error(`invalid lock name ${JSON.stringify(name)}`);
  return path.join(store.dir('locks'), `${name}.lock`);
}

/** Runs fn while holding the named lock of the writable store; always releases it. */
export async function withLock<T>(store: Store, name: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const held = await acquireLock(store, name, options);
  try {
    return await fn();
  } finally {
    await held.release();
  }
}

export interface HeldLock {
  owner: LockOwner;
  path: string;
  release(): Promise<void>;
}

export async function acquireLock(store: Store, name: string, options: LockOptions = {}): Promise<HeldLock> {
  await store.prepare();
  const dir = lockPath(store, name);
  const started = Date.now();
  let delay = store.pollMinMs;
  let announced = false;
  for (;;) {
    throwIfAborted(options.signal, name);
    const owner: LockOwner = { host: store.hostname, pid: process.pid, started: new Date().toISOString(), token: randomBytes(12).toString('hex'), ...ownStart() };
    if (await tryCreate(store, dir, owner)) return hold(store, dir, owner);
    const current = await inspect(dir);
    // Released between our mkdir and our look: try again at once.
    if (current === undefined) continue;
    if (isStale(store, current)) {
      await breakStale(store, dir, current.owner?.token);
      continue;
    }
    if (options.wait === false || (options.timeoutMs !== undefined && Date.now() - started >= options.timeoutMs)) {
      throw lockedError(dir, current.owner);
    }
    if (!announced) {
      announced = true;
      options.onWait?.(current.owner);
    }
    // Jittered exponential backoff: many waiters on one lock do not poll in step.
    await sleepUnlessAborted(delay * (0.75 + Math.random() / 2), options.signal, name);
    delay = Math.min(store.pollMaxMs, delay * 1.6);
  }
}

async function tryCreate(store: Store, dir: string, owner: LockOwner): Promise<boolean> {
  try {
    await fs.mkdir(dir);
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false;
    throw storeIoError(error, `lock ${path.basename(dir)}`, store.root);
  }
  try {
    await fs.writeFile(path.join(dir, OWNER_FILE), `${JSON.stringify(owner)}\n`);
  } catch (error) {
    await fs.rm(dir, { recursive: true, force: true });
    throw storeIoError(error, `lock ${path.basename(dir)}`, store.root);
  }
  return true;
}

function hold(store: Store, dir: string, owner: LockOwner): HeldLock {
  // The heartbeat: touch the lock directory so others see the holder is alive, but only while
  // it is still ours (after a long stop, e.g. SIGSTOP, it may have been broken and re-taken).
  // Chained timeouts never overlap on a slow filesystem; unref() so a forgotten lock never keeps
  // the process running.
  let released = false;
  let timer: NodeJS.Timeout | undefined;
  const beat = async (): Promise<void> => {
    const current = await readOwner(dir);
    // An unreadable record (a network filesystem hiccup) is no proof of loss: keep beating.
    if (released || (current !== undefined && current.token !== owner.token)) return;
    const now = new Date();
    const gone = await fs.utimes(dir, now, now).then(() => false, (error: unknown) => errnoCode(error) === 'ENOENT');
    if (!gone) schedule();
  };
  const schedule = (): void => {
    if (released) return;
    timer = setTimeout(() => void beat(), store.heartbeatMs);
    timer.unref();
  };
  schedule();
  return {
    owner,
    path: dir,
    async release() {
      if (released) return;
      released = true;
      clearTimeout(timer);
      const current = await readOwner(dir);
      // Remove only our own lock: if we were (wrongly) judged stale and broken, the lock at this
      // path now belongs to someone else.
      if (current?.token !== owner.token) return;
      const aside = `${dir}.released-${randomBytes(6).toString('hex')}`;
      try {
        await fs.rename(dir, aside);
      } catch {
        return;
      }
      await removeTree(aside).catch(() => undefined);
    },
  };
}

interface Observed {
  owner: LockOwner | undefined;
  mtimeMs: number;
}

async function inspect(dir: string): Promise<Observed | undefined> {
  const stat = await fs.stat(dir).catch(() => undefined);
  if (stat === undefined) return undefined;
  return { owner: await readOwner(dir), mtimeMs: stat.mtimeMs };
}

export async function readOwner(dir: string): Promise<LockOwner | undefined> {
  try {
    const value = JSON.parse(await fs.readFile(path.join(dir, OWNER_FILE), 'utf8')) as Partial<LockOwner>;
    if (typeof value.host === 'string' && typeof value.pid === 'number' && typeof value.token === 'string') {
      const start = typeof value.start === 'string' ? { start: value.start } : {};
      return { host: value.host, pid: value.pid, started: String(value.started ?? ''), token: value.token, ...start };
    }
  } catch {
    // Missing (the holder is between mkdir and writing it) or torn: judged by mtime alone.
  }
  return undefined;
}

/**
 * Stale: an owner on this very host whose process is gone (a live one is never stale, even
 * when its heartbeat stalled: a long synchronous walk, Ctrl-Z, SIGSTOP), or, for an owner on
 * another host or one not yet recorded, no heartbeat for lockStaleMs.
 */
function isStale(store: Store, observed: Observed): boolean {
  const local = observed.owner === undefined ? undefined : localHolderAlive(observed.owner, store.hostname);
  if (local !== undefined) return !local;
  return Date.now() - observed.mtimeMs > store.lockStaleMs;
}

let startOfThisProcess: { start?: string } | undefined;
function ownStart(): { start?: string } {
  if (startOfThisProcess === undefined) {
    const start = processStartTime(process.pid);
    startOfThisProcess = start === undefined ? {} : { start };
  }
  return startOfThisProcess;
}

/**
 * Breaks a stale lock without ever deleting a fresh one: breakers serialise on a short-lived
 * "<lock>.break" directory, re-check under it that the same stale owner still holds the lock,
 * and move it aside with rename(2) (atomic); if what was moved turns out to be a different
 * owner's lock after all, it is moved back.
 */
async function breakStale(store: Store, dir: string, staleToken: string | undefined): Promise<void> {
  const guard = `${dir}.break`;
  try {
    await fs.mkdir(guard);
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw storeIoError(error, `lock ${path.basename(dir)}`, store.root);
    // Another process is breaking it right now; a guard left by a crashed breaker goes stale.
    const stat = await fs.stat(guard).catch(() => undefined);
    if (stat !== undefined && Date.now() - stat.mtimeMs > store.lockStaleMs) await fs.rmdir(guard).catch(() => undefined);
    await sleep(store.pollMinMs);
    return;
  }
  try {
    const again = await inspect(dir);
    if (again === undefined || again.owner?.token !== staleToken || !isStale(store, again)) return;
    const aside = `${dir}.broken-${randomBytes(6).toString('hex')}`;
    try {
      await fs.rename(dir, aside);
    } catch {
      return;
    }
    const moved = await readOwner(aside);
    if (moved?.token !== staleToken) {
      await fs.rename(aside, dir).catch(() => undefined);
      return;
    }
    await removeTree(aside).catch(() => undefined);
  } finally {
    await fs.rmdir(guard).catch(() => undefined);
  }
}

/**
 * Removes the locks whose holders are gone (a pull killed with -9 leaves its blob and image
 * locks behind), by the same staleness rule and the same careful break as a waiter uses, and
 * guards or broken locks a crashed breaker left. pull calls it before it starts, gc as it runs.
 * Returns how many were removed.
 */
export async function sweepStaleLocks(store: Store): Promise<number> {
  const dir = store.dir('locks');
  let removed = 0;
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const where = path.join(dir, name);
    if (name.endsWith('.lock')) {
      const observed = await inspect(where);
      if (observed === undefined || !isStale(store, observed)) continue;
      await breakStale(store, where, observed.owner?.token);
      if ((await inspect(where)) === undefined) removed += 1;
    } else if (/\.lock\.(break|broken-[0-9a-f]+)$/.test(name)) {
      const stat = await fs.stat(where).catch(() => undefined);
      if (stat === undefined || Date.now() - stat.mtimeMs <= store.lockStaleMs) continue;
      await removeTree(where).catch(() => undefined);
      removed += 1;
    }
  }
  return removed;
}

function lockedError(dir: string, owner: LockOwner | undefined): EnvlockError {
  const who = owner === undefined ? 'another process' : `process ${owner.pid} on ${owner.host}`;
  return new EnvlockError('STORE_LOCKED', `The store lock ${path.basename(dir)} is held by ${who}.`, {
    hint: 'Wait for the other envlock command to finish, then run this one again.',
    details: { lock: dir, owner },
  });
}

function throwIfAborted(signal: AbortSignal | undefined, name: string): void {
  if (signal?.aborted === true) {
    throw new EnvlockError('INTERRUPTED', `Waiting for the store lock ${name} was interrupted.`, {
      hint: 'Run the command again when you are ready.',
      cause: signal.reason,
    });
  }
}

async function sleepUnlessAborted(ms: number, signal: AbortSignal | undefined, name: string): Promise<void> {
  try {
    await sleep(ms, undefined, signal === undefined ? undefined : { signal });
  } catch {
    throwIfAborted(signal, name);
  }
}
