// The one liveness rule of store locks and image leases: a holder on this host is alive while
// the kernel still has its process (same pid, same start time), whatever that process is doing
// (busy in a long synchronous walk, or stopped by Ctrl-Z or SIGSTOP); a holder on another host
// is alive while it keeps a file's mtime fresh, since no host can see another's processes.

import { readFileSync } from 'node:fs';
import { errnoCode } from '../errors.js';

/** proc(5): field 22 of /proc/PID/stat, the start time in clock ticks after boot. */
const STARTTIME_FIELD = 22;

/** Whether a process with this pid exists (EPERM: it does, and belongs to someone else). */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
}

/**
 * The start time of a process as /proc/PID/stat gives it, or undefined when it is gone (or
 * /proc cannot say). The command name (field 2) may hold spaces and parentheses, so fields are
 * counted after its last ')'.
 */
export function processStartTime(pid: number): string | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const value = fields[STARTTIME_FIELD - 3];
  return value !== undefined && /^[0-9]+$/.test(value) ? value : undefined;
}

export interface Holder {
  host: string;
  pid: number;
  /** Start time from /proc/PID/stat when the holder recorded it. */
  start?: string;
}

/**
 * Whether a holder on `thisHost` still lives. With a recorded start time a recycled pid is not
 * mistaken for the holder; without one, the pid alone decides. Undefined for another host:
 * the caller judges that one by its heartbeat.
 */
export function localHolderAlive(holder: Holder, thisHost: string): boolean | undefined {
  if (holder.host !== thisHost) return undefined;
  if (holder.start === undefined) return processAlive(holder.pid);
  const now = processStartTime(holder.pid);
  // /proc hides another user's process (hidepid) while the pid exists: keep it, to be safe.
  if (now === undefined) return processAlive(holder.pid);
  return now === holder.start;
}
