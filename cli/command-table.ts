// Every command, sorted by name, with its one-line summary. Modules load lazily so a
// command pays only for what it imports (start-up budget: see docs/cli.md).

import type { CommandSpec } from './command-spec.js';

export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<CommandSpec>;
}

export const COMMANDS: CommandEntry[] = [
  { name: 'init', summary: 'Write a commented envlock.yaml (or .toml) to start from.', load: async () => (await import('./commands/init.js')).command },
  { name: 'lock', summary: 'Resolve every environment to content digests and CPU requirements.', load: async () => (await import('./commands/lock.js')).command },
  { name: 'pull', summary: 'Download the locked images into the store and unpack them.', load: async () => (await import('./commands/pull.js')).command },
];

export function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name);
}
