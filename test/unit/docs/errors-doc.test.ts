// docs/errors.md documents every error code, with the exit status the code really has.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../core/errors.js';

const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

describe('docs/errors.md', () => {
  it.each(Object.entries(ERROR_CODES))('documents %s', (code, exit) => {
    const row = doc.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
    expect(row, `no table row for ${code}`).toBeDefined();
    // Rows in tables with an exit column must state the same exit status as the code table.
    const cells = row!.split('|').map((c) => c.trim());
    if (/^\d+(\/\d+)?$/.test(cells[2] ?? '')) expect(cells[2]!.split('/')).toContain(code === 'INTERRUPTED' ? '130' : String(exit));
  });
});
