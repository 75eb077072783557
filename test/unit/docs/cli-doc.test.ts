// docs/cli.md carries the generated help of every command, so the reference never drifts from
// the flags the parser accepts (regenerate with `npm run build && node scripts/gen-cli-docs.mjs`).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../../cli/command-table.js';
import { commandHelp } from '../../../cli/help.js';

const doc = readFileSync(new URL('../../../docs/cli.md', import.meta.url), 'utf8');

describe('docs/cli.md', () => {
  it.each(COMMANDS.map((c) => [c.name, c] as const))('has the current help of `envlock %s`', async (_name, entry) => {
    const spec = await entry.load();
    expect(doc).toContain(commandHelp(spec).trimEnd());
  });
});
