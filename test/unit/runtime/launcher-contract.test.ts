// Decision 5: the launcher's exit statuses and message prefixes are what core/errors.ts and
// core/runtime/launch.ts expect; a change on either side without the other fails here.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAUNCHER_EXIT, LAUNCHER_PREFIXES } from '../../../core/runtime/launch.js';
import { REPO_ROOT } from '../../helpers/cli.js';

const src = path.join(REPO_ROOT, 'native', 'src');
const headers = fs.readdirSync(src).filter((f) => f.endsWith('.h')).map((f) => fs.readFileSync(path.join(src, f), 'utf8')).join('\n');
const cSources = fs.readdirSync(src).filter((f) => f.endsWith('.c')).map((f) => fs.readFileSync(path.join(src, f), 'utf8')).join('\n');

describe('the launcher and core/errors.ts agree', () => {
  it('on every exit status the launcher\'s headers define', () => {
    const defined = Object.fromEntries([...headers.matchAll(/^#define\s+(EL_EXIT_[A-Z_]+)\s+(\d+)\b/gm)].map((m) => [m[1]!, Number(m[2])]));
    expect(defined).toEqual({ ...LAUNCHER_EXIT });
  });

  it('on every message prefix the launcher\'s headers define', () => {
    const defined = Object.fromEntries([...headers.matchAll(/^#define\s+(EL_MSG_[A-Z_]+)\s+"((?:[^"\\]|\\.)*)"/gm)].map((m) => [m[1]!, m[2]!]));
    expect(defined).toEqual({ ...LAUNCHER_PREFIXES });
  });

  it('and the launcher prints its failures through those prefixes (the macro, or its text as a checked call\'s step)', () => {
    const literals = [...cSources.matchAll(/"((?:[^"\\\n]|\\.)*)"/g)].map((m) => m[1]!);
    for (const [name, prefix] of Object.entries(LAUNCHER_PREFIXES)) {
      const used = new RegExp(`\\b${name}\\b`).test(cSources) || literals.includes(prefix.trimEnd());
      expect(used, `${name} (${JSON.stringify(prefix)}) is never printed by native/src/*.c`).toBe(true);
    }
  });
});
