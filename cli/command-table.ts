// Every command, sorted by name, with its one-line summary. Modules load lazily so a
// command pays only for what it imports (start-up budget: see docs/cli.md).

import type { CommandSpec } from './command-spec.js';

export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<CommandSpec>;
}

export const COMMANDS: CommandEntry[] = [
  { name: 'doctor', summary: 'Check that this host can run envlock environments, and each locked one.', load: async () => (await import('./commands/doctor.js')).command },
  { name: 'export', summary: 'Write a locked environment\'s image as an OCI image layout directory.', load: async () => (await import('./commands/export.js')).command },
  { name: 'gc', summary: 'Remove blobs and root filesystems that no lockfile uses any more.', load: async () => (await import('./commands/gc.js')).command },
  { name: 'init', summary: 'Write a commented envlock.yaml (or .toml) to start from.', load: async () => (await import('./commands/init.js')).command },
  { name: 'list', summary: 'List the environments of this project with their lock and pull state.', load: async () => (await import('./commands/list.js')).command },
  { name: 'lock', summary: 'Resolve every environment to content digests and CPU requirements.', load: async () => (await import('./commands/lock.js')).command },
  { name: 'module', summary: 'Publish environments as modules, and answer the module shim.', load: async () => (await import('./commands/module.js')).command },
  { name: 'modulefiles', summary: 'Write Lmod (Lua) or Tcl modulefiles for the envlock modules.', load: async () => (await import('./commands/modulefiles.js')).command },
  { name: 'pull', summary: 'Download the locked images into the store and unpack them.', load: async () => (await import('./commands/pull.js')).command },
  { name: 'run', summary: 'Run a command inside a locked environment, without root.', load: async () => (await import('./commands/run.js')).command },
  { name: 'shell', summary: 'Start an interactive shell inside a locked environment.', load: async () => (await import('./commands/shell.js')).command },
  { name: 'shim', summary: 'Print the code that defines `module` and `ml` for a shell.', load: async () => (await import('./commands/shim.js')).command },
  { name: 'slurm', summary: 'Print the plugstack.conf line for the SPANK plugin (srun --envlock=NAME).', load: async () => (await import('./commands/slurm.js')).command },
  { name: 'store', summary: 'Show the store: location, size, images, and what shared blobs save.', load: async () => (await import('./commands/store.js')).command },
  { name: 'verify', summary: 'Re-hash the locked blobs and check each pulled rootfs against its tree digest.', load: async () => (await import('./commands/verify.js')).command },
];

export function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name);
}
