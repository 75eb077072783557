// Whether stderr may carry colour and live progress: a terminal, no NO_COLOR, no TERM=dumb,
// not --json. (https://no-color.org: any non-empty NO_COLOR disables colour.)

import type { Env } from '../../core/context.js';

export interface OutputMode {
  colour: boolean;
  live: boolean;
}

export function outputMode(env: Env, stderrIsTTY: boolean, json: boolean): OutputMode {
  const noColour = (env.NO_COLOR ?? '') !== '' || env.TERM === 'dumb';
  const tty = stderrIsTTY && !json;
  return { colour: tty && !noColour, live: tty && !noColour && env.CI === undefined };
}

/** ENVLOCK_PROGRESS_INTERVAL (seconds): the least time between plain progress lines; default 5 s. */
export function progressInterval(env: Env): { progressIntervalMs?: number } {
  const seconds = Number(env.ENVLOCK_PROGRESS_INTERVAL);
  return env.ENVLOCK_PROGRESS_INTERVAL !== undefined && Number.isFinite(seconds) && seconds >= 0 ? { progressIntervalMs: seconds * 1000 } : {};
}

export function paint(enabled: boolean) {
  const wrap = (open: number, close: number) => (text: string) => (enabled ? `\u001b[${open}m${text}\u001b[${close}m` : text);
  return { red: wrap(31, 39), yellow: wrap(33, 39), green: wrap(32, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}
