// The shapes of names a declaration may contain (environments, variables, commands, modules,
// CDI devices), kept in one place so the validator, `init` and the docs agree.

/** Environment names become directory and module names, so they stay lower-case and path-safe. */
export const ENVIRONMENT_NAME = /^[a-z0-9][a-z0-9._-]*$/;
export const ENVIRONMENT_NAME_MAX = 64;
export const ENVIRONMENT_NAME_RULE = `lower-case letters, digits, \`.\`, \`_\` and \`-\`, starting with a letter or digit, at most ${ENVIRONMENT_NAME_MAX} characters`;

/** POSIX shell variable names (POSIX.1-2017 XBD 8.1 is looser, but shells accept only these). */
export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const VARIABLE_NAME_RULE = 'a variable name has letters, digits and `_`, and does not start with a digit';

/** Command names become wrapper file names on PATH: no `/`, nothing a shell would interpret. */
export const COMMAND_NAME = /^(?!\.\.?$)[A-Za-z0-9._+-]+$/;
export const COMMAND_NAME_RULE = 'a command name has only letters, digits and `.`, `_`, `+`, `-` (no `/`, no spaces or shell characters)';

/** Module names as Lmod writes them: `name` or `name/version`, each part from the command set. */
export const MODULE_NAME = /^(?!\.\.?(\/|$))(?!.*\/\.\.?(\/|$))[A-Za-z0-9._+-]+(\/[A-Za-z0-9._+-]+)*$/;
export const MODULE_NAME_RULE = 'a module name is `name` or `name/version`, with letters, digits and `.`, `_`, `+`, `-` in each part';

/**
 * A fully qualified CDI device name, `vendor.tld/class=name` (CDI SPEC.md, "Fully qualified
 * device name"): the vendor is domain-like, the class starts with a letter, the name may hold `:`.
 */
export const CDI_DEVICE = /^[A-Za-z0-9]([A-Za-z0-9_-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9_-]*[A-Za-z0-9])?)+\/[A-Za-z]([A-Za-z0-9_.-]*[A-Za-z0-9])?=[A-Za-z0-9]([A-Za-z0-9_.:-]*[A-Za-z0-9])?$/;
export const CDI_DEVICE_RULE = 'a CDI device is written `vendor.tld/class=name`, for example `nvidia.com/gpu=all`';

/** A host library: a soname such as `libfabric.so.1`, or an absolute path. */
export const LIBRARY_NAME = /^(\/(?!.*(^|\/)\.\.?(\/|$))[^\0]+|[A-Za-z0-9._+-]+)$/;
export const LIBRARY_NAME_RULE = 'a library is a soname such as `libfabric.so.1` or an absolute path without `..`';

/** CPU levels: `x86-64` and `x86-64-v2…v4` (x86-64 psABI levels), or a named microarchitecture. */
export const CPU_NAME = /^[a-z0-9][a-z0-9._-]*$/;
export const CPU_LEVELS = ['x86-64', 'x86-64-v2', 'x86-64-v3', 'x86-64-v4'] as const;
export const CPU_NAME_RULE = 'a CPU is `x86-64`, `x86-64-v2`, `x86-64-v3`, `x86-64-v4` or a lower-case microarchitecture name such as `skylake_avx512` or `neoverse_v1`';

export function isEnvironmentName(name: string): boolean {
  return name.length <= ENVIRONMENT_NAME_MAX && ENVIRONMENT_NAME.test(name);
}

/** Turns any text (an image repository, a directory name) into a valid environment name, or undefined. */
export function sanitiseEnvironmentName(text: string): string | undefined {
  const cleaned = text
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, ENVIRONMENT_NAME_MAX)
    .replace(/[._-]+$/, '');
  return cleaned !== '' && isEnvironmentName(cleaned) ? cleaned : undefined;
}
