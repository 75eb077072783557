// Final output: the --json envelope on stdout, or human text on stdout and errors on stderr.

import { EnvlockError } from '../../core/errors.js';
import { paint } from './style.js';

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
  const lines = [`${style.red('error:')} ${error.message}`];
  if (error.hint) lines.push(`${style.dim('hint:')} ${error.hint}`);
  return `${lines.join('\n')}\n`;
}

export function internalError(error: unknown, colour: boolean): string {
  const style = paint(colour);
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return `${style.red('internal error:')} envlock hit a bug; please report it with the command you ran and this trace.\n${stack}\n`;
}
