// Starting envlock-launch: `launch` replaces the Node process with it (execve through the
// addon, so no Node parent sits between the shell and the command); `launchChild` spawns it
// for tests and for callers that must keep running, and maps its own failures to errors.

import { spawn } from 'node:child_process';
import type { Context, Env } from '../context.js';
import { EXIT, EnvlockError } from '../errors.js';
import { launcherPath } from './launcher-path.js';
import { loadNative, type NativeAddon } from './native.js';
import { renderSpec, type LaunchSpec } from './spec.js';

export interface LaunchOptions {
  /** The launcher executable; defaults to launcherPath(ctx.env). */
  launcher?: string;
  /** Ask the launcher to describe each mount on stderr. */
  debug?: boolean;
  native?: NativeAddon;
}

/**
 * The launcher's argv. The spec travels inline (--spec-text), so `envlock run` writes no file;
 * wrappers written by the module shim use --spec FILE instead (docs/runtime.md).
 */
export function launcherArguments(launcher: string, spec: LaunchSpec, argv: readonly string[], debug = false): string[] {
  return [launcher, ...(debug ? ['--debug'] : []), '--spec-text', renderSpec(spec), '--', ...argv];
}

/** An environment object as execve's KEY=VALUE list, in insertion order. */
export function envArray(env: Env): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(env)) if (value !== undefined) out.push(`${key}=${value}`);
  return out;
}

/** Replaces this process with the launcher; returns only by throwing. */
export function launch(spec: LaunchSpec, argv: readonly string[], ctx: Context, options: LaunchOptions = {}): never {
  const launcher = options.launcher ?? launcherPath(ctx.env);
  const args = launcherArguments(launcher, spec, argv, options.debug);
  const native = options.native ?? loadNative();
  try {
    return native.execLauncher(launcher, args, envArray(ctx.env));
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
  const args = [...(options.prefix ?? []), ...launcherArguments(launcher, spec, argv, options.debug)];
  const [file, ...rest] = args as [string, ...string[]];
  return new Promise((resolve, reject) => {
    const child = spawn(file, rest, { cwd: ctx.cwd, env: { ...ctx.env }, stdio: options.stdio === 'inherit' ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
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
 * The launcher's exit statuses (native/src/launch.h EXIT_*), as core/errors.ts names them;
 * test/unit/runtime/launcher-contract.test.ts checks the two against each other (Decision 5).
 */
export const LAUNCHER_EXIT = {
  EXIT_HOST_UNSUPPORTED: EXIT.HOST_UNSUPPORTED,
  EXIT_LAUNCH_FAILED: EXIT.RUN_LAUNCH_FAILED,
  EXIT_CANNOT_EXECUTE: EXIT.RUN_CANNOT_EXECUTE,
  EXIT_NOT_FOUND: EXIT.RUN_NOT_FOUND,
} as const;

/** The launcher's message prefixes after `envlock-launch: ` (native/src: main.c, init.c, mounts.c). */
export const LAUNCHER_PREFIXES = {
  userns: 'user namespace: ',
  bindSource: 'bind source ',
  notFound: 'command not found inside the environment: ',
  cannotExecute: 'cannot execute ',
} as const;
const { userns: USERNS, bindSource: BIND_SOURCE, notFound: NOT_FOUND, cannotExecute: CANNOT_EXECUTE } = LAUNCHER_PREFIXES;

/**
 * The launcher's own failure, when the status and its last stderr line say the launcher (not
 * the command) failed: 125 launch, 126 cannot execute, 127 not found (docs/runtime.md).
 */
export function launcherFailure(result: Pick<LaunchResult, 'status' | 'stderr'>): EnvlockError | undefined {
  const lines = result.stderr.trimEnd().split('\n');
  const last = lines[lines.length - 1] ?? '';
  if (!last.startsWith('envlock-launch: ')) return undefined;
  const what = last.slice('envlock-launch: '.length);
  const details = { launcher: last };
  if ((result.status === 4 || result.status === 125) && what.startsWith(USERNS)) {
    return new EnvlockError('USERNS_UNAVAILABLE', `This host does not let envlock create a user namespace (${what.slice(USERNS.length)}).`, {
      hint: 'Run `envlock doctor` to see which kernel setting blocks it; an administrator must change it.',
      details,
    });
  }
  if (result.status === 125 && what.startsWith(BIND_SOURCE)) {
    return new EnvlockError('BIND_INVALID', `A bind mount source cannot be used: ${what.slice(BIND_SOURCE.length)}.`, {
      hint: 'Create the source directory or remove the bind from the declaration.',
      details,
    });
  }
  if (result.status === 125) {
    return new EnvlockError('LAUNCH_FAILED', `Entering the environment failed: ${what}.`, { hint: 'Run again with --debug to see each mount the launcher makes.', details });
  }
  if (result.status === 127 && what.startsWith(NOT_FOUND)) {
    const command = what.slice(NOT_FOUND.length);
    return new EnvlockError('COMMAND_NOT_FOUND', `The command ${command} was not found inside the environment.`, {
      hint: 'Check the command name, or list what the image provides with `envlock run ENV -- ls /usr/bin`.',
      details: { ...details, command },
    });
  }
  if (result.status === 126 && what.startsWith(CANNOT_EXECUTE)) {
    return new EnvlockError('COMMAND_NOT_EXECUTABLE', `The command could not be executed inside the environment: ${what.slice(CANNOT_EXECUTE.length)}.`, {
      hint: 'Check that the file is an executable for this architecture with its execute bit set.',
      details,
    });
  }
  return undefined;
}
