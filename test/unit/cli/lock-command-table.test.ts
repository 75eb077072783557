// The lock bundle's command table (cli/lock-command-table.ts) stands in for the full one in
// dist/bundle/lock.mjs: its one entry must be the full table's `lock`, spec included.

import { expect, test } from 'vitest';
import { COMMANDS, findCommand } from '../../../cli/command-table.js';
import * as lockOnly from '../../../cli/lock-command-table.js';

test('holds the full table\'s lock command and refuses any other name', async () => {
  const full = findCommand('lock')!;
  expect(lockOnly.COMMANDS.map((c) => [c.name, c.summary])).toEqual([[full.name, full.summary]]);
  expect(await lockOnly.findCommand('lock')!.load()).toBe(await full.load());
  for (const other of COMMANDS.filter((c) => c.name !== 'lock')) expect(() => lockOnly.findCommand(other.name)).toThrow(/internal: the lock bundle/);
});
