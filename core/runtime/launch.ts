// Starting envlock-launch: `launch` replaces the Node process with it (execve through the
// addon, so no Node parent sits between the shell and the command); `launchChild` spawns it
// for tests and for callers that must keep running, and maps its own failures to errors.

import { spawn } from 'node:child_process';
import type { Context, Env } from '../context.js';
import { EXIT, EnvlockError, type ErrorCode } from '../errors.js';
import { launcherPath } from './launcher-path.js';
import { loadExecAddon, type ExecAddon } from './native.js';
import { renderSpec, type LaunchSpec } from './spec.js';

export interface LaunchOptions {
  /** The launcher executable; defaults to launcherPath(ctx.env). */
  launcher?: string;
  /** Ask the launcher to describe each mount on stderr. */
  debug?: boolean;
  native?: ExecAddon;
  /**
   * Runs once the spec is rendered and the launcher found, just before the execve: the fast run
   * records its code cache there, so the cache holds the launch's code too.
   */
  beforeExec?: () => void;
}

/** The descriptor launchChild hands the spec on (stdio index 3). */
export const CHILD_SPEC_FD = 3;

/**
 * The launcher's argv: options and the command, never the spec. The spec holds the command's
 * whole environment (proxy credentials included) and the launcher lives as long as the job, so
 * it travels through an inherited descriptor (--spec-fd), not argv, which every user of the node
 * can read in /proc/PID/cmdline (issue 12.4). `launch` gets the descriptor from the addon (a
 * sealed memfd), `launchChild` from a pipe.
 */
export function launcherArguments(launcher: string, argv: readonly string[], options: { debug?: boolean; specFd?: number } = {}): string[] {
  return [launcher, ...(options.debug ? ['--debug'] : []), ...(options.specFd === undefined ? [] : ['--spec-fd', String(options.specFd)]), '--', ...argv];
}

/** An environment object as execve's KEY=VALUE list, in insertion order. */
export function envArray(env: Env): string[] {
  const out: string[] = [];
  // An index loop, not entries() destructured: see composeEnvironment.
  const keys = Object.keys(env);
  for (let i = 0; i < keys.length; i++) {
    const value = env[keys[i]!];
    if (value !== undefined) out.push(`${keys[i]}=${value}`);
  }
  return out;
}

/**
 * The launcher starts in the directory the command runs in (the one the user asked for with -C,
 * else the one they are in), so a launcher that binds its own working directory binds that one.
 */
function enterDirectory(dir: string): void {
  try {
    process.chdir(dir);
  } catch (error) {
    throw new EnvlockError('BIND_INVALID', `The working directory ${dir} cannot be entered on this host: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`, {
      hint: 'Create the directory, or run from (or point -C at) one that exists.',
      cause: error,
    });
  }
}

/** Replaces this process with the launcher; returns only by throwing. */
export function launch(spec: LaunchSpec, argv: readonly string[], ctx: Context, options: LaunchOptions = {}): never {
  const launcher = options.launcher ?? launcherPath(ctx.env);
  const text = renderSpec(spec);
  const args = launcherArguments(launcher, argv, { debug: options.debug ?? false });
  const native = options.native ?? loadExecAddon();
  const env = envArray(ctx.env);
  if (spec.bindCwd !== false && spec.cwd !== undefined) enterDirectory(spec.cwd);
  options.beforeExec?.();
  try {
    return native.execLauncher(launcher, args, env, text);
  } catch (error) {
    throw new EnvlockError('LAUNCH_FAILED', `The launcher ${launcher} could not be executed: ${(error as Error).message}.`, {
      hint: 'Check that the launcher exists and is executable, or rebuild it with `npm rebuild envlock`.',
      cause: error,
      details: { launcher },
    });
  }
}

export interface LaunchResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ChildOptions extends LaunchOptions {
  /** 'pipe' collects output; 'inherit' shares this process's terminal. */
  stdio?: 'pipe' | 'inherit';
  /** Wraps the launcher, e.g. ['runuser', '-u', 'nobody', '--'] in tests. */
  prefix?: string[];
  onSpawn?: (pid: number) => void;
}

/** Runs the launcher as a child and waits for it (never blocking the event loop). */
export function launchChild(spec: LaunchSpec, argv: readonly string[], ctx: Context, options: ChildOptions = {}): Promise<LaunchResult> {
  const launcher = options.launcher ?? launcherPath(ctx.env);
  const text = renderSpec(spec);
  const args = [...(options.prefix ?? []), ...launcherArguments(launcher, argv, { debug: options.debug ?? false, specFd: CHILD_SPEC_FD })];
  const [file, ...rest] = args as [string, ...string[]];
  const cwd = spec.bindCwd !== false && spec.cwd !== undefined ? spec.cwd : ctx.cwd;
  return new Promise((resolve, reject) => {
    const stdio = options.stdio === 'inherit' ? ['inherit', 'inherit', 'inherit', 'pipe'] as const : ['ignore', 'pipe', 'pipe', 'pipe'] as const;
    const child = spawn(file, rest, { cwd, env: { ...ctx.env }, stdio: [...stdio] });
    const specPipe = child.stdio[CHILD_SPEC_FD] as NodeJS.WritableStream | null;
    // A launcher that fails before reading closes the pipe: that is its error to report, not EPIPE.
    specPipe?.on('error', () => undefined);
    specPipe?.end(text);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('spawn', () => child.pid !== undefined && options.onSpawn?.(child.pid));
    child.on('error', (error) =>
      reject(new EnvlockError('LAUNCH_FAILED', `The launcher ${launcher} could not be started: ${error.message}.`, { hint: 'Rebuild it with `npm rebuild envlock`.', cause: error })));
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

/**
 * The launcher's exit statuses and message prefixes (native/src/envlock-enter.h EL_EXIT_*,
 * EL_MSG_*), as core/errors.ts and launcherFailure name them;
 * test/unit/runtime/launcher-contract.test.ts checks the two sides against each other (Decision 5).
 */
export const LAUNCHER_EXIT = {
  EL_EXIT_HOST_UNSUPPORTED: EXIT.HOST_UNSUPPORTED,
  EL_EXIT_LAUNCH_FAILED: EXIT.RUN_LAUNCH_FAILED,
  EL_EXIT_CANNOT_EXECUTE: EXIT.RUN_CANNOT_EXECUTE,
  EL_EXIT_NOT_FOUND: EXIT.RUN_NOT_FOUND,
} as const;

/** What follows `envlock-launch: ` on the launcher's last stderr line, by kind of failure. */
export const LAUNCHER_PREFIXES = {
  EL_MSG_USERNS: 'user namespace: ',
  EL_MSG_BIND_SOURCE: 'bind source ',
  EL_MSG_NOT_FOUND: 'command not found inside the environment: ',
  EL_MSG_CANNOT_EXECUTE: 'cannot execute ',
  EL_MSG_CPU: 'cpu: ',
  EL_MSG_SQUASHFS: 'squashfs: ',
  EL_MSG_IMAGE_MISSING: 'image missing: ',
  EL_MSG_LEASE: 'lease: ',
} as const;
const {
  EL_MSG_USERNS: USERNS, EL_MSG_BIND_SOURCE: BIND_SOURCE, EL_MSG_NOT_FOUND: NOT_FOUND, EL_MSG_CANNOT_EXECUTE: CANNOT_EXECUTE,
  EL_MSG_CPU: CPU, EL_MSG_SQUASHFS: SQUASHFS, EL_MSG_IMAGE_MISSING: IMAGE_MISSING,
} = LAUNCHER_PREFIXES;
const { HOST_UNSUPPORTED, RUN_LAUNCH_FAILED, RUN_CANNOT_EXECUTE, RUN_NOT_FOUND } = EXIT;

/** One kind of launcher failure: the statuses and message prefix that mark it, and the error it becomes. */
export interface LauncherFailureKind {
  statuses: readonly number[];
  /** What the message starts with after `envlock-launch: `; '' matches any. */
  prefix: string;
  code: ErrorCode;
  /** The error's message, from what follows the prefix. */
  message: (rest: string) => string;
  hint: string;
  /** Details besides the launcher's line, from what follows the prefix. */
  details?: (rest: string) => Record<string, unknown>;
}

/**
 * The launcher's failures, walked in order, the first match wins (so a status-125 line without
 * a known prefix is a plain launch failure): 125 launch, 126 cannot execute, 127 not found
 * (docs/runtime.md), 4 when this host cannot run the environment.
 */
export const LAUNCHER_FAILURES: readonly LauncherFailureKind[] = [
  {
    statuses: [HOST_UNSUPPORTED, RUN_LAUNCH_FAILED], prefix: USERNS, code: 'USERNS_UNAVAILABLE',
    message: (rest) => `This host does not let envlock create a user namespace (${rest}).`,
    hint: 'Run `envlock doctor` to see which kernel setting blocks it; an administrator must change it.',
  },
  {
    statuses: [HOST_UNSUPPORTED], prefix: CPU, code: 'CPU_UNSUPPORTED',
    message: (rest) => `This CPU cannot run the prepared image: ${rest}.`,
    hint: 'Run on a node whose CPU has these features, or lock and pull a variant this CPU can run.',
  },
  {
    statuses: [HOST_UNSUPPORTED], prefix: SQUASHFS, code: 'RUNTIME_UNAVAILABLE',
    message: (rest) => `This host cannot mount the squashfs image: ${rest}.`,
    hint: 'Run `envlock doctor`, or pull the image as a tree (`envlock pull --image-format tree`).',
  },
  {
    statuses: [RUN_LAUNCH_FAILED], prefix: IMAGE_MISSING, code: 'LAUNCH_FAILED',
    message: (rest) => `The image was removed after the run was prepared: ${rest}.`,
    hint: 'Run the command again; `envlock pull` brings the image back.',
  },
  {
    statuses: [RUN_LAUNCH_FAILED], prefix: BIND_SOURCE, code: 'BIND_INVALID',
    message: (rest) => `A bind mount source cannot be used: ${rest}.`,
    hint: 'Create the source directory or remove the bind from the declaration.',
  },
  {
    statuses: [RUN_LAUNCH_FAILED], prefix: '', code: 'LAUNCH_FAILED',
    message: (what) => `Entering the environment failed: ${what}.`,
    hint: 'Run again with --debug to see each mount the launcher makes.',
  },
  {
    statuses: [RUN_NOT_FOUND], prefix: NOT_FOUND, code: 'COMMAND_NOT_FOUND',
    message: (command) => `The command ${command} was not found inside the environment.`,
    hint: 'Check the command name, or list what the image provides with `envlock run ENV -- ls /usr/bin`.',
    details: (command) => ({ command }),
  },
  {
    statuses: [RUN_CANNOT_EXECUTE], prefix: CANNOT_EXECUTE, code: 'COMMAND_NOT_EXECUTABLE',
    message: (rest) => `The command could not be executed inside the environment: ${rest}.`,
    hint: 'Check that the file is an executable for this architecture with its execute bit set.',
  },
];

/**
 * The launcher's own failure, when the status and its last stderr line say the launcher (not
 * the command) failed (LAUNCHER_FAILURES); otherwise undefined: the status is the command's.
 */
export function launcherFailure(result: Pick<LaunchResult, 'status' | 'stderr'>): EnvlockError | undefined {
  const lines = result.stderr.trimEnd().split('\n');
  const last = lines[lines.length - 1] ?? '';
  if (!last.startsWith('envlock-launch: ')) return undefined;
  const what = last.slice('envlock-launch: '.length);
  const kind = LAUNCHER_FAILURES.find((k) => result.status !== null && k.statuses.includes(result.status) && what.startsWith(k.prefix));
  if (kind === undefined) return undefined;
  const rest = what.slice(kind.prefix.length);
  return new EnvlockError(kind.code, kind.message(rest), { hint: kind.hint, details: { launcher: last, ...kind.details?.(rest) } });
}
