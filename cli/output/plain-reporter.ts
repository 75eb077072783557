// Progress and messages as plain lines on stderr: for pipes, CI logs and NO_COLOR.

import type { ProgressTask, Reporter } from '../../core/context.js';
import { formatBytes } from '../../core/format-bytes.js';
import { terminalSafe } from '../../core/shown.js';
import { paint } from './style.js';

export interface PlainReporterOptions {
  quiet: boolean;
  verbose: boolean;
  colour: boolean;
  write?: (line: string) => void;
  /** Least time between two progress lines of long work, in ms (ENVLOCK_PROGRESS_INTERVAL; default 5 s). */
  progressIntervalMs?: number;
  now?: () => number;
}

interface Running {
  label: string;
  size: number | undefined;
  done: number;
  started: number;
  lastLine: number;
  announced: boolean;
  resumedAt: number;
}

const percent = (done: number, size: number) => `${Math.min(100, Math.floor((done / size) * 100))}%`;

/**
 * Plain lines for logs: one line when a task starts (or resumes), then at most one progress line
 * per interval for all tasks together (the one reported longest ago), one when it ends.
 */
export function plainReporter(options: PlainReporterOptions): Reporter {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const now = options.now ?? Date.now;
  const interval = options.progressIntervalMs ?? 5_000;
  const style = paint(options.colour);
  const running = new Set<Running>();
  let lastLine = now();
  const size = (t: Running) => (t.size !== undefined && t.size > 0 ? t.size : undefined);
  const announce = (t: Running) => {
    if (t.announced) return;
    t.announced = true;
    if (options.quiet) return;
    const total = size(t);
    if (t.resumedAt > 0 && total !== undefined) write(`${t.label}: resuming at ${formatBytes(t.resumedAt)} of ${formatBytes(total)}`);
    else write(`${t.label}: started${total === undefined ? '' : `, ${formatBytes(total)}`}`);
  };
  const tick = () => {
    const at = now();
    if (options.quiet || at - lastLine < interval) return;
    let pick: Running | undefined;
    for (const t of running) if (t.announced && at - t.started >= interval && (pick === undefined || t.lastLine < pick.lastLine)) pick = t;
    if (pick === undefined) return;
    pick.lastLine = at;
    lastLine = at;
    const seconds = (at - pick.started) / 1000;
    const rate = seconds > 0 ? `, ${formatBytes((pick.done - pick.resumedAt) / seconds)}/s` : '';
    const total = size(pick);
    write(`${pick.label}: ${total === undefined ? formatBytes(pick.done) : `${formatBytes(pick.done)} of ${formatBytes(total)} (${percent(pick.done, total)})`}${rate}`);
  };
  return {
    // Messages may carry a registry's or a layer's text: no control character reaches the terminal.
    info(message) {
      if (!options.quiet) write(terminalSafe(message));
    },
    warn(message) {
      write(`${style.yellow('warning:')} ${terminalSafe(message)}`);
    },
    debug(message) {
      if (options.verbose) write(style.dim(terminalSafe(message)));
    },
    task(label, total): ProgressTask {
      const t: Running = { label, size: total, done: 0, started: now(), lastLine: 0, announced: false, resumedAt: 0 };
      running.add(t);
      return {
        setTotal(value) {
          t.size = value;
        },
        restart(done) {
          if (!t.announced && done > 0) t.resumedAt = done;
          t.done = done;
          announce(t);
        },
        advance(amount) {
          announce(t);
          t.done += amount;
          tick();
        },
        done(note) {
          running.delete(t);
          if (options.quiet) return;
          const seconds = (now() - t.started) / 1000;
          const total = size(t);
          const bytes = total === undefined ? '' : `, ${formatBytes(total)}`;
          const resumed = t.resumedAt > 0 ? ` (resumed at ${formatBytes(t.resumedAt)})` : '';
          write(`${label}: ${note ?? 'done'}${bytes}${resumed}${seconds >= 1 ? ` in ${seconds.toFixed(1)}s` : ''}`);
        },
        fail(note) {
          running.delete(t);
          write(`${label}: ${style.red('failed')}${note ? ` (${note})` : ''}`);
        },
      };
    },
    close: async () => {},
  };
}

export { formatBytes };
