// The shape of a command: its flags and arguments as data (help is generated from this),
// and a function that takes parsed options and a context and returns data to render.

import type { EnvlockError } from '../core/errors.js';
import type { Context } from '../core/context.js';

export type FlagType = 'boolean' | 'string' | 'list';

export interface FlagSpec {
  name: string;
  short?: string;
  type: FlagType;
  description: string;
  /** Shown in help: --platform <OS/ARCH>. */
  valueName?: string;
  /** Allowed values for a string flag. */
  choices?: readonly string[];
}

export interface PositionalSpec {
  name: string;
  description: string;
  required?: boolean;
  variadic?: boolean;
}

export interface ParsedArgs {
  flags: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  /** Everything after `--` (or after the pass-through point), untouched. */
  rest: string[];
  /** True when `--` itself appeared. */
  sawDoubleDash: boolean;
}

export interface CommandOutcome<R = unknown> {
  result: R;
  /** Text for stdout in human mode; omitted means nothing is printed. */
  text?: string;
  /** Non-zero for an expected non-error outcome (e.g. a failed check that was reported). */
  exitCode?: number;
  /**
   * Why a non-zero exitCode: rendered as the error line on stderr after the text, and in --json
   * as the envelope's error beside its result (ok is false whenever the exit status is not 0).
   */
  failure?: EnvlockError;
}

export interface CommandSpec<R = unknown> {
  name: string;
  summary: string;
  usage: string;
  description?: string;
  flags: FlagSpec[];
  positionals: PositionalSpec[];
  /** After this many positionals, the rest of argv is passed through unparsed (run/shell). */
  passThroughAfter?: number;
  examples?: string[];
  run(args: ParsedArgs, ctx: Context): Promise<CommandOutcome<R>>;
}

/** Flags every command accepts, before or after its name. */
export const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'json', type: 'boolean', description: 'Print one JSON document on stdout (success or failure).' },
  { name: 'quiet', short: 'q', type: 'boolean', description: 'Print only errors on stderr.' },
  { name: 'verbose', short: 'v', type: 'boolean', description: 'Print diagnostic detail on stderr.' },
  { name: 'directory', short: 'C', type: 'string', valueName: 'DIR', description: 'Run as if started in DIR.' },
  { name: 'store', type: 'string', valueName: 'DIR', description: 'Use DIR as the writable store (default: $ENVLOCK_STORE, then ~/.local/share/envlock).' },
  { name: 'offline', type: 'boolean', description: 'Never touch the network; fail if something must be fetched.' },
  { name: 'help', short: 'h', type: 'boolean', description: 'Show help for envlock or for the command.' },
  { name: 'version', type: 'boolean', description: 'Print the version of envlock.' },
];
