// Writes the launcher's line-based spec (docs/runtime.md "Spec format") for a module: one
// keyword per line, fields split by one space, `\\ \s \n \t \r` escapes inside a field.

import type { BindSpec } from '../declaration/model.js';

/** Escapes one field so that spaces, newlines and backslashes survive the launcher's split. */
export function escapeSpecField(value: string): string {
  if (value.includes('\0')) throw new Error(`a launch spec field cannot hold a NUL byte: ${JSON.stringify(value)}`);
  return value.replace(/[\\ \n\t\r]/g, (c) => ({ '\\': '\\\\', ' ': '\\s', '\n': '\\n', '\t': '\\t', '\r': '\\r' })[c]!);
}

export interface ModuleSpecInput {
  rootfs: string;
  /** The environment exactly as the command should see it (image Env plus declaration edits). */
  env: ReadonlyMap<string, string>;
  /** Host variables copied in by name at run time (TERM, LANG, SLURM_JOB_ID…). */
  envPass: readonly string[];
  binds: readonly BindSpec[];
  /** Comment lines naming what the spec was prepared from (module, lock digest). */
  comments: readonly string[];
  /**
   * `host` (the default for modules): no PID namespace, so the launcher becomes the command, as a
   * native command would be: the same PID for srun, debuggers and job accounting, signals
   * straight to it, no init in between, and the start-up of `ch-run`. `private` keeps the
   * launcher's own default (a PID namespace with a minimal init).
   */
  pid?: 'host' | 'private';
}

/** The spec text; `cmd` lines are left out because each wrapper passes its own command. */
export function moduleSpecText(input: ModuleSpecInput): string {
  const lines = ['envlock-launch-spec 1'];
  for (const c of input.comments) lines.push(`# ${c.replace(/[\r\n]/g, ' ')}`);
  lines.push(`rootfs ${escapeSpecField(input.rootfs)}`);
  if ((input.pid ?? 'host') === 'host') lines.push('pid host');
  for (const b of input.binds) {
    lines.push(`bind ${escapeSpecField(b.source)} ${escapeSpecField(b.target)} ${b.readOnly ? 'ro' : 'rw'}`);
  }
  const names = [...input.env.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) lines.push(`env ${escapeSpecField(`${name}=${input.env.get(name)!}`)}`);
  for (const name of input.envPass) lines.push(`env-pass ${escapeSpecField(name)}`);
  return `${lines.join('\n')}\n`;
}
