// How long envlock waits for a registry, and when it says that it is waiting: a connection must
// open within 15 s and the answer start within 30 s (ENVLOCK_CONNECT_TIMEOUT and
// ENVLOCK_READ_TIMEOUT override them, in seconds); after 3 s without an answer the user is told
// which host is being waited for and for what. A silent registry is not asked again: the next
// mirror is, or the command stops with REGISTRY_TIMEOUT.

import type { Env } from '../context.js';
import { EnvlockError } from '../errors.js';

export interface Timeouts {
  connectMs: number;
  /** Until the first byte of the answer (its headers). */
  headersMs: number;
  /** Longest pause between two chunks of a body. */
  bodyIdleMs: number;
  /** When to say what is being waited for. */
  noticeMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 15_000, headersMs: 30_000, bodyIdleMs: 60_000, noticeMs: 3_000 };

function seconds(env: Env, name: string): number | undefined {
  const text = env[name];
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || value > 86_400) {
    throw new EnvlockError('CONFIG_INVALID', `${name}=${JSON.stringify(text)} is not a number of seconds.`, {
      hint: `Set ${name} to a positive number of seconds, such as 60, or unset it for the default.`,
    });
  }
  return Math.round(value * 1000);
}

/** The timeouts for this command: the defaults, overridden from the environment. */
export function timeoutsFrom(env: Env): Timeouts {
  const connect = seconds(env, 'ENVLOCK_CONNECT_TIMEOUT');
  const read = seconds(env, 'ENVLOCK_READ_TIMEOUT');
  return {
    connectMs: connect ?? DEFAULT_TIMEOUTS.connectMs,
    headersMs: read ?? DEFAULT_TIMEOUTS.headersMs,
    bodyIdleMs: read ?? DEFAULT_TIMEOUTS.bodyIdleMs,
    noticeMs: Math.min(DEFAULT_TIMEOUTS.noticeMs, Math.floor((read ?? DEFAULT_TIMEOUTS.headersMs) / 2)),
  };
}
