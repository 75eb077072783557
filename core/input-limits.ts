// Sizes no real project reaches, so that a runaway or hostile input is refused with one clear
// sentence instead of exhausting memory or failing much later (issue 13.6). docs/declaration.md
// and docs/lockfile.md state them.

/** envlock.yaml / envlock.toml: a project with a hundred environments is a few tens of KiB. */
export const DECLARATION_MAX_BYTES = 1024 * 1024;

/** envlock.lock: about 1 KiB per locked image plus 150 bytes per layer. */
export const LOCKFILE_MAX_BYTES = 16 * 1024 * 1024;

/**
 * One variable as the declaration composes it (NAME=value, with its prepend/append entries).
 * Linux refuses any single environment string over 128 KiB (MAX_ARG_STRLEN) with E2BIG.
 */
export const VARIABLE_MAX_BYTES = 128 * 1024 - 1;

/**
 * Everything one environment's declaration adds to the environment. execve fails with E2BIG past
 * a quarter of the stack limit for arguments and environment together (2 MiB with the usual
 * 8 MiB), and the host's variables, the image's and the command line need room too.
 */
export const ENVIRONMENT_MAX_BYTES = 512 * 1024;

/** "1 MiB", "512 KiB": the limits as messages state them. */
export function describeLimit(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if ((bytes + 1) % 1024 === 0) return `${(bytes + 1) / 1024} KiB`;
  return bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`;
}
