// `envlock shim bash|zsh|sh`: prints the line that defines `module` and `ml` in the calling shell
// (it sources the static shim/envlock.sh), or with --path just that file's path for profile.d.

import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnvlockError } from '../../core/errors.js';
import { shellQuote } from '../../core/modules/wrapper-script.js';
import { flag } from '../args.js';
import type { CommandSpec } from '../command-spec.js';
import { quoted } from '../../core/shown.js';

export const SHIM_SHELLS = ['bash', 'zsh', 'sh'] as const;

/** The static shim file: shim/envlock.sh in the package root, found from this file (cli/ or dist/cli/). */
export function shimPath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'shim', 'envlock.sh');
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new EnvlockError('IO', 'The shim file shim/envlock.sh is missing from this envlock installation.', { hint: 'Reinstall envlock.' });
}

function realpathOr(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

export interface ShimResult {
  shell: string | undefined;
  path: string;
}

export const command: CommandSpec<ShimResult> = {
  name: 'shim',
  summary: 'Print the code that defines `module` and `ml` for a shell.',
  usage: 'envlock shim bash|zsh|sh | envlock shim --path',
  description:
    'Use `eval "$(envlock shim bash)"` in ~/.bashrc or a job script. The functions are a static file that needs no Node to run; ' +
    'with --path, envlock prints its path so /etc/profile.d or BASH_ENV can source it directly.',
  flags: [{ name: 'path', type: 'boolean', description: 'Print the path of the static shim file instead.' }],
  positionals: [{ name: 'shell', description: 'bash, zsh or sh (dash, busybox sh and other POSIX shells).' }],
  examples: ['eval "$(envlock shim bash)"', '. "$(envlock shim --path)"', 'ln -s "$(envlock shim --path)" /etc/profile.d/envlock.sh'],
  async run(args) {
    const file = shimPath();
    if (flag.bool(args, 'path')) return { result: { shell: undefined, path: file }, text: `${file}\n` };
    const shell = args.positionals[0];
    if (shell === undefined || !(SHIM_SHELLS as readonly string[]).includes(shell)) {
      throw new EnvlockError('USAGE', shell === undefined ? '`envlock shim` needs the name of a shell.' : `\`envlock shim\` does not know the shell ${quoted(shell)}.`, {
        hint: 'Run `eval "$(envlock shim bash)"` (or zsh, or sh for POSIX shells), or `envlock shim --path`.',
      });
    }
    // The shim falls back to the CLI for show/spider and unknown names; point it at this very
    // CLI when the caller has not chosen one, so it works without envlock on PATH too, and at
    // this Node, so a loaded module that wraps `node` never runs envlock inside its image.
    // The script Node runs (a bin symlink resolved), so "$ENVLOCK_NODE" "$ENVLOCK_CLI" runs it directly.
    const entry = process.argv[1] ? realpathOr(path.resolve(process.argv[1])) : undefined;
    const cli = entry
      ? `if [ -z "\${ENVLOCK_CLI-}" ]; then ENVLOCK_CLI=${shellQuote(entry)}; ENVLOCK_NODE=${shellQuote(process.execPath)}; export ENVLOCK_CLI ENVLOCK_NODE; fi\n`
      : '';
    return { result: { shell, path: file }, text: `${cli}. ${shellQuote(file)}\n` };
  },
};
