// The command table of the lock bundle (dist/bundle/lock.mjs, scripts/bundle.mjs): main.ts built
// with this table in place of command-table.ts holds `envlock lock` and nothing else, so locking
// loads one file instead of the full CLI's chunks. The entry sends only a command line whose
// command is `lock` here (cli/lock-route.ts); any other name is a bug in that routing.

import type { CommandEntry } from './command-table.js';

export type { CommandEntry };

export const COMMANDS: CommandEntry[] = [
  { name: 'lock', summary: 'Resolve every environment to content digests and CPU requirements.', load: async () => (await import('./commands/lock.js')).command },
];

export function findCommand(name: string): CommandEntry | undefined {
  if (name !== 'lock') throw new Error(`internal: the lock bundle was started for the command ${JSON.stringify(name)}`);
  return COMMANDS[0];
}
