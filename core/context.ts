// The context every command and core function receives instead of reaching for globals:
// where it runs, its environment, where the store is, how to report, and when to stop.

import os from 'node:os';
import path from 'node:path';

export type Env = Readonly<Record<string, string | undefined>>;

/** One unit of long work (a blob download, a layer unpack), shown as a line or a bar. */
export interface ProgressTask {
  setTotal(total: number): void;
  /** The work (re)starts with `done` units already there: a resumed or restarted transfer. */
  restart(done: number): void;
  advance(amount: number): void;
  done(note?: string): void;
  fail(note?: string): void;
}

/** Where progress, warnings and diagnostics go: always stderr, never stdout. */
export interface Reporter {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
  task(label: string, total?: number): ProgressTask;
  /** Stops live rendering (ink) so the final output can be printed cleanly. */
  close(): Promise<void>;
}

export interface Context {
  cwd: string;
  env: Env;
  home: string;
  /** The writable store chosen by --store or ENVLOCK_STORE; undefined means the default. */
  storeOverride: string | undefined;
  offline: boolean;
  verbose: boolean;
  quiet: boolean;
  json: boolean;
  reporter: Reporter;
  signal: AbortSignal;
}

export const silentTask: ProgressTask = {
  setTotal() {},
  restart() {},
  advance() {},
  done() {},
  fail() {},
};

/** A reporter that drops everything; for tests and library use. */
export const silentReporter: Reporter = {
  info() {},
  warn() {},
  debug() {},
  task: () => silentTask,
  close: async () => {},
};

export interface ContextInit {
  cwd?: string;
  env?: Env;
  storeOverride?: string;
  offline?: boolean;
  verbose?: boolean;
  quiet?: boolean;
  json?: boolean;
  reporter?: Reporter;
  signal?: AbortSignal;
}

let neverAborted: AbortSignal | undefined;

/** Builds a context; tests pass what they need and get quiet defaults for the rest. */
export function makeContext(init: ContextInit = {}): Context {
  const env = init.env ?? {};
  const cwd = init.cwd ?? path.resolve('.');
  const context: Omit<Context, 'signal'> = {
    cwd,
    env,
    home: env.HOME ?? os.homedir(),
    storeOverride: init.storeOverride,
    offline: init.offline ?? false,
    verbose: init.verbose ?? false,
    quiet: init.quiet ?? false,
    json: init.json ?? false,
    reporter: init.reporter ?? silentReporter,
  };
  if (init.signal !== undefined) return { ...context, signal: init.signal };
  // AbortController is a lazily loaded global (about 0.4 ms of a repeated `envlock run`, which
  // never looks at the signal): the default one is made only when something does.
  return Object.defineProperty(context, 'signal', {
    get: () => (neverAborted ??= new AbortController().signal),
    enumerable: true,
    configurable: true,
  }) as Context;
}
