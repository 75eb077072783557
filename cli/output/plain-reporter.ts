// Progress and messages as plain lines on stderr: for pipes, CI logs and NO_COLOR.

import type { ProgressTask, Reporter } from '../../core/context.js';
import { paint } from './style.js';

export interface PlainReporterOptions {
  quiet: boolean;
  verbose: boolean;
  colour: boolean;
  write?: (line: string) => void;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function plainReporter(options: PlainReporterOptions): Reporter {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const style = paint(options.colour);
  return {
    info(message) {
      if (!options.quiet) write(message);
    },
    warn(message) {
      write(`${style.yellow('warning:')} ${message}`);
    },
    debug(message) {
      if (options.verbose) write(style.dim(message));
    },
    task(label, total): ProgressTask {
      let done = 0;
      let size = total;
      const started = Date.now();
      return {
        setTotal(value) {
          size = value;
        },
        advance(amount) {
          done += amount;
        },
        done(note) {
          if (options.quiet) return;
          const seconds = (Date.now() - started) / 1000;
          const bytes = size !== undefined && size > 0 ? ` ${formatBytes(done || size)}` : '';
          write(`${label}:${bytes} ${note ?? 'done'}${seconds >= 1 ? ` in ${seconds.toFixed(1)}s` : ''}`);
        },
        fail(note) {
          write(`${label}: ${style.red('failed')}${note ? ` (${note})` : ''}`);
        },
      };
    },
    close: async () => {},
  };
}

export { formatBytes };
