// Commands never import commands (issue 14.1): what two commands share lives in core/ or cli/.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../helpers/cli.js';

const dir = path.join(REPO_ROOT, 'cli', 'commands');

describe('cli/commands', () => {
  it('import nothing from each other, statically or lazily', () => {
    const tangles: string[] = [];
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const text = fs.readFileSync(path.join(dir, file), 'utf8');
      for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*)['"](\.\/[^'"]+)['"]/g)) tangles.push(`${file} -> ${m[1]}`);
    }
    expect(tangles).toEqual([]);
  });
});
