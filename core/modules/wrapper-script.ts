// The text of one command wrapper: a file whose interpreter line names the native launcher, so
// the kernel starts `envlock-launch --wrapper FILE "$@"` with no shell in between, and "$@",
// stdin, the exit status and signals reach the command as is. The launcher reads the rest
// (native/src/wrapper.c): the module, the command, the files whose mtimes it compares, and the
// variant specs it picks from for this node's CPU.

import { escapeField } from '../runtime/spec.js';

/** Quotes a value for POSIX sh: single quotes, with each `'` written as `'\''`. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

export interface WrapperInput {
  command: string;
  /** Shown in messages: analysis/2.0. */
  label: string;
  launcherPath: string;
  /** The spec whose mtime records when the wrappers were prepared. */
  specFile: string;
  /** The variants' specs, best first: the launcher runs the first whose `arch`/`cpu-needs` this node meets (default: specFile). */
  candidates?: readonly string[];
  /** Spec lines for binds under the runner's home, `~` standing for $HOME (home-binds.ts); without a usable $HOME the wrapper then refuses. */
  homeLines?: readonly string[];
  /** Files the spec was prepared from; when one is newer than the spec, the wrapper refuses. */
  sources: readonly string[];
}

/**
 * Linux reads at most 127 bytes of an interpreter line before 5.1 (255 since) and splits it at
 * the first blank, so the launcher stands there only when its path is short and plain; otherwise
 * /bin/sh reads the file and runs its `exec` line, which starts the launcher the same way.
 */
export function interpreterLine(launcherPath: string): string {
  const line = `#!${launcherPath} --wrapper`;
  return /^\/[A-Za-z0-9._/+@=,:-]+$/.test(launcherPath) && line.length + 1 <= 127 ? line : '#!/bin/sh';
}

/**
 * The launcher checks, before it enters anything, that the lock and declaration are not newer
 * than the spec, so a lock replaced after publishing is never run with the old image, and picks
 * the variant this node's CPU runs, so a module prepared on a newer node never starts an image
 * an older one cannot execute. It binds $HOME when the value needs no spec escaping and names a
 * directory; otherwise the command still runs, just without a home bind (or, when the module
 * binds directories of the home, not at all).
 */
export function wrapperScript(input: WrapperInput): string {
  const field = (keyword: string, value: string): string => `${keyword} ${escapeField(value)}`;
  return [
    interpreterLine(input.launcherPath),
    `exec ${shellQuote(input.launcherPath)} --wrapper "$0" "$@"`,
    `# envlock wrapper: runs \`${input.command}\` in module ${input.label}. Written by envlock; do not edit.`,
    'envlock-wrapper 1',
    field('label', input.label),
    field('command', input.command),
    field('stamp', input.specFile),
    ...input.sources.map((file) => field('source', file)),
    ...(input.candidates ?? [input.specFile]).map((file) => field('candidate', file)),
    ...(input.homeLines ?? []).map((line) => `home-set ${line}`),
    '',
  ].join('\n');
}
