// Final output: the --json envelope on stdout, or human text on stdout and errors on stderr.

import { EnvlockError } from '../../core/errors.js';
import { shortened, terminalSafe } from '../../core/shown.js';
import { paint } from './style.js';

/** Past this a message line is cut in the middle: a net for values echoed without `shown` (13.6). */
const MESSAGE_LINE_MAX = 1000;

/** Message text as a terminal gets it: its own line breaks kept, other controls escaped, lines capped. */
function printable(text: string): string {
  return terminalSafe(text).split('\n').map((line) => shortened(line, MESSAGE_LINE_MAX)).join('\n');
}

export { successEnvelope } from './envelope.js';

export interface JsonFailure {
  code: string;
  message: string;
  hint?: string;
  exitCode: number;
  details?: Record<string, unknown>;
}

/** The failure document; a command that reported findings before failing (doctor) includes them as result. */
export function failureEnvelope(command: string | undefined, error: JsonFailure, result?: unknown): string {
  return `${JSON.stringify({ ok: false, command: command ?? null, ...(result === undefined ? {} : { result }), error })}\n`;
}

export function describeError(error: EnvlockError): JsonFailure {
  const out: JsonFailure = { code: error.code, message: error.message, exitCode: error.exitCode };
  if (error.hint) out.hint = error.hint;
  if (error.details) out.details = error.details;
  return out;
}

export function humanError(error: EnvlockError, colour: boolean): string {
  const style = paint(colour);
  const lines = [`${style.red('error:')} ${printable(error.message)}`];
  if (error.hint) lines.push(`${style.dim('hint:')} ${printable(error.hint)}`);
  return `${lines.join('\n')}\n`;
}

export function internalError(error: unknown, colour: boolean): string {
  const style = paint(colour);
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return `${style.red('internal error:')} envlock hit a bug; please report it with the command you ran and this trace.\n${stack}\n`;
}
