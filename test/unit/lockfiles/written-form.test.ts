// The reader of the writer's own form must never disagree with @iarna/toml: for every text it
// accepts, the document is the one @iarna/toml returns; whatever it cannot vouch for it leaves to
// @iarna/toml (undefined). Checked on the golden lock, on locks with awkward strings, and on many
// small edits of both (the edits a hand, a merge or a broken disk make).

import { readFileSync } from 'node:fs';
import TOML from '@iarna/toml';
import { describe, expect, test } from 'vitest';
import { serializeLockfile } from '../../../lockfiles/write.js';
import { readWrittenForm } from '../../../lockfiles/written-form.js';
import { GOLDEN, sampleLock } from './sample.js';

const golden = readFileSync(GOLDEN, 'utf8');

/** A lock whose strings hold every character the writer escapes, and some it does not. */
function awkwardLock(): string {
  const lock = sampleLock();
  const env = lock.environments[0]!;
  env.reference = 'quote " backslash \\ tab \t nul \u0000 del \u007f unit \u001f é 😀 \ud800 lone';
  env.host.libraries = ['a"b', 'c\\d', '\n', ''];
  env.cpu = '\\u0041 is not an escape here';
  return serializeLockfile(lock);
}

/** The document as plain JSON: what the lock reader's checks can observe of it. */
function plain(doc: unknown): string {
  return JSON.stringify(doc, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value));
}

/** @iarna/toml's answer: the document, or that it refused the text. */
function reference(text: string): string {
  try {
    return plain(TOML.parse(text));
  } catch {
    return 'refused';
  }
}

/** A small deterministic generator, so a failing edit reproduces. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return state / 2 ** 32;
  };
}

const PIECES = ['"', '\\', '\\u0041', '\\uD800', '\\n', '\\t', ' ', '\t', '\r', '\n', '#', '=', ',', '[', ']', '{', '}', '[[environment]]\n', '[[environment.image]]\n',
  '0', '-', '1.5', '2026-01-01', '_', 'x', 'é', '\u0000', '\u007f', 'name = "n"\n', 'size = 1', 'version = 2\n', '__proto__', 'image = []\n', 'environment = 1\n',
  '9007199254740993', '-0', '00', '0x10', 'true', "'s'", '"""'];

function edits(text: string, seed: number, count: number): string[] {
  const next = random(seed);
  const out: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < count; i++) {
    const at = Math.floor(next() * text.length);
    const piece = PIECES[Math.floor(next() * PIECES.length)]!;
    switch (i % 5) {
      case 0:
        out.push(text.slice(0, at) + piece + text.slice(at));
        break;
      case 1:
        out.push(text.slice(0, at) + text.slice(at + 1 + Math.floor(next() * 3)));
        break;
      case 2:
        out.push(text.slice(0, at) + piece + text.slice(at + 1));
        break;
      case 3: {
        const line = Math.floor(next() * lines.length);
        out.push([...lines.slice(0, line + 1), lines[line]!, ...lines.slice(line + 1)].join('\n'));
        break;
      }
      default: {
        const a = Math.floor(next() * lines.length);
        const b = Math.floor(next() * lines.length);
        const swapped = [...lines];
        [swapped[a], swapped[b]] = [swapped[b]!, swapped[a]!];
        out.push(swapped.join('\n'));
      }
    }
  }
  return out;
}

describe('readWrittenForm', () => {
  test('reads what the writer writes, as @iarna/toml does', () => {
    for (const text of [golden, awkwardLock(), golden.trimEnd(), '', '# only a comment\n']) {
      const doc = readWrittenForm(text);
      expect(doc).toBeDefined();
      expect(plain(doc)).toBe(reference(text));
    }
  });

  test('leaves other TOML to the full parser', () => {
    for (const text of [
      golden.replace('version = 1', 'version  = 1'),
      golden.replace('version = 1', 'version = 1 # format'),
      golden.replace('version = 1', '"version" = 1'),
      golden.replace('size = 1530', 'size = 1_530'),
      golden.replace('size = 1530', 'size = 9007199254740993'),
      golden.replace('size = 1530', 'size = 1530.0'),
      golden.replace('envlock-version = "0.1.0"', "envlock-version = '0.1.0'"),
      golden.replace('envlock-version = "0.1.0"', 'envlock-version = "0.1.0\\n"'),
      golden.replace('envlock-version = "0.1.0"', 'envlock-version = 2026-11-29'),
      golden.replace('envlock-version', 'generated-at = 1\nenvlock-version'),
      golden.replace('version = 1', 'version = 1\nversion = 1'),
      golden.replaceAll('\n', '\r\n'),
      `\uFEFF${golden}`,
      golden.replace('[[environment]]', '[environment]'),
      golden.replace('[[environment]]\nname = "chemistry"', '[[environment.image]]\nplatform = "x"\n[[environment]]\nname = "chemistry"'),
    ]) {
      expect(readWrittenForm(text), text.slice(0, 200)).toBeUndefined();
    }
  });

  test('never disagrees with @iarna/toml on thousands of edited locks', () => {
    let accepted = 0;
    let total = 0;
    for (const [seed, base] of [golden, awkwardLock()].entries()) {
      for (const text of edits(base, seed + 1, 3000)) {
        total++;
        const doc = readWrittenForm(text);
        if (doc === undefined) continue;
        accepted++;
        expect(plain(doc), JSON.stringify(text)).toBe(reference(text));
      }
    }
    // The edits must exercise both sides: many accepted, many left to the full parser.
    expect(accepted).toBeGreaterThan(total / 10);
    expect(total - accepted).toBeGreaterThan(total / 10);
  });
});
