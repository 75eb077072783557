/** Absolute paths of the launcher's C files, in native/binding.gyp's order, without repeats. */
export function launcherSources(root?: string): string[];
