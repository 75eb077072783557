// Decision 5: the launcher's exit statuses and message prefixes are what core/errors.ts and
// core/runtime/launch.ts expect; a change on either side without the other fails here.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAUNCHER_EXIT, LAUNCHER_PREFIXES } from '../../../core/runtime/launch.js';
import { REPO_ROOT } from '../../helpers/cli.js';

const src = path.join(REPO_ROOT, 'native', 'src');
const headers = fs.readdirSync(src).filter((f) => f.endsWith('.h')).map((f) => fs.readFileSync(path.join(src, f), 'utf8')).join('\n');
const cSources = fs.readdirSync(src).filter((f) => f.endsWith('.c') || f.endsWith('.h')).map((f) => fs.readFileSync(path.join(src, f), 'utf8')).join('\n');

describe('the launcher and core/errors.ts agree', () => {
  it('on every exit status the launcher\'s headers define', () => {
    // launch.h, or envlock-enter.h once the entry library names them EL_EXIT_*.
    const defined = Object.fromEntries([...headers.matchAll(/^#define\s+(?:EL_)?(EXIT_[A-Z_]+)\s+(\d+)\b/gm)].map((m) => [m[1]!, Number(m[2])]));
    expect(defined).toEqual({ ...LAUNCHER_EXIT });
  });

  it('on the message prefixes envlock recognises in the launcher\'s stderr', () => {
    const literals = [...cSources.matchAll(/"((?:[^"\\\n]|\\.)*)"/g)].map((m) => m[1]!);
    for (const prefix of Object.values(LAUNCHER_PREFIXES)) {
      expect(literals.some((l) => l.includes(prefix.trimEnd())), `no C string literal holds ${JSON.stringify(prefix)}`).toBe(true);
    }
  });
});
