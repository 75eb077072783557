// The text of one command wrapper: a few lines of POSIX sh that exec the native launcher with a
// module's prepared spec, so `"$@"`, stdin, the exit status and signals reach the command as is.

/** Quotes a value for POSIX sh: single quotes, with each `'` written as `'\''`. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

export interface WrapperInput {
  command: string;
  /** Shown in messages: analysis/2.0. */
  label: string;
  launcherPath: string;
  specFile: string;
  /** The variants' specs, best first: the launcher runs the first whose `arch`/`cpu-needs` this node meets (default: specFile). */
  candidates?: readonly string[];
  /** `--set 'bind …'` shell words naming "$HOME" (binds of `~`, home-binds.ts); without a usable $HOME the wrapper then refuses. */
  homeArgs?: readonly string[];
  /** Files the spec was prepared from; when one is newer than the spec, the wrapper refuses. */
  sources: readonly string[];
}

/**
 * The wrapper checks, with the shell's `test -nt` builtin (no process start), that the lock and
 * declaration are not newer than the spec, so a lock replaced after publishing is never run
 * with the old image. The launcher picks the variant this node's CPU runs (--candidate), so a
 * module prepared on a newer node never starts an image an older one cannot execute. It passes
 * $HOME to the launcher as the home bind only when the value needs no spec escaping and names a
 * directory; otherwise the command still runs, just without a home bind.
 */
export function wrapperScript(input: WrapperInput): string {
  const spec = shellQuote(input.specFile);
  const from = (input.candidates ?? [input.specFile]).map((file) => `--candidate ${shellQuote(file)}`).join(' ');
  const checks = input.sources.map((file) => `[ ${shellQuote(file)} -nt ${spec} ]`).join(' || ');
  const perUser = (input.homeArgs ?? []).map((a) => ` ${a}`).join('');
  const noHome = `envlock: ${input.label} binds directories of your home, so HOME must name an existing directory whose path has only letters, digits and ._/+@=,:-`;
  const stale = `envlock: ${input.label} changed since its wrappers were prepared; run \`module load ${input.label}\` again (or \`envlock module publish\`)`;
  return [
    '#!/bin/sh',
    `# envlock wrapper: runs \`${input.command}\` in module ${input.label}. Written by envlock; do not edit.`,
    checks === '' ? '' : `if ${checks}; then echo ${shellQuote(stale)} >&2; exit 125; fi`,
    'case ${HOME-} in /?*) case $HOME in *[!A-Za-z0-9._/+@=,:-]*) ;; *) [ -d "$HOME" ] && exec ' +
      `${shellQuote(input.launcherPath)} ${from} --set "home $HOME"${perUser} -- ${shellQuote(input.command)} "$@" ;; esac ;; esac`,
    perUser === '' ? `exec ${shellQuote(input.launcherPath)} ${from} -- ${shellQuote(input.command)} "$@"` : `echo ${shellQuote(noHome)} >&2; exit 125`,
    '',
  ].filter((line, i, all) => line !== '' || i === all.length - 1).join('\n');
}
