// The docs may only name commands and flags envlock has, and never tell a user to call one of its
// internal functions (issue 15.7: `--locked` and `envlock list` were documented but did not
// exist; docs/modules.md told users to call `refreshModuleDir(dir, options)` from core/).

import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../../cli/command-table.js';
import { GLOBAL_FLAGS, type CommandSpec } from '../../../cli/command-spec.js';

const ROOT = new URL('../../../', import.meta.url);
const DOCS = ['README.md', ...readdirSync(new URL('docs/', ROOT)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
/** Guides a user follows, as opposed to design notes that describe the code. */
const GUIDES = ['README.md', 'docs/cli.md', 'docs/declaration.md', 'docs/errors.md', 'docs/lockfile.md', 'docs/modules.md', 'docs/registries.md', 'docs/slurm.md'];

const read = (file: string) => readFileSync(new URL(file, ROOT), 'utf8');

/** Inline code spans and the lines of fenced blocks: where a doc shows something to type. */
function codeOf(text: string): string[] {
  const pieces: string[] = [];
  const prose = text.replace(/^```[^\n]*\n([\s\S]*?)^```$/gm, (_, block: string) => {
    pieces.push(...block.split('\n'));
    return '';
  });
  for (const m of prose.matchAll(/``?([^`\n]+?)``?/g)) pieces.push(m[1]!);
  return pieces;
}

interface Invocation { file: string; text: string; command: string; words: string[] }

/** Each `envlock COMMAND …` in the docs' code, up to the end of that shell command. */
function invocations(file: string): Invocation[] {
  const found: Invocation[] = [];
  for (const piece of codeOf(read(file))) {
    // Comments in shell blocks are prose.
    const code = piece.replace(/(^|\s)#.*$/, '');
    // Where a shell command starts: the start of the line (a prompt, `Usage:` or sudo before it),
    // after ; | & or $(, or after srun and its options.
    for (const m of code.matchAll(/(?:^\s*(?:\$ |Usage: |sudo )?|[;|&(]\s*|\bsrun (?:-\S+ )*)envlock((?: +-[^\s]+(?: +[^-\s][^\s]*)?)*) +([a-z][a-z-]*)(?=\s|$)([^;|&)"'`]*)/g)) {
      const globals = m[1]!.trim().split(/\s+/).filter(Boolean);
      // Words after ` -- ` belong to the command run inside.
      const own = m[3]!.split(/\s--(\s|$)/)[0]!;
      found.push({ file, text: m[0].trim(), command: m[2]!, words: [...globals, ...own.trim().split(/\s+/).filter(Boolean)] });
    }
  }
  return found;
}

const specs = new Map<string, CommandSpec>();
for (const entry of COMMANDS) specs.set(entry.name, await entry.load());
const globalNames = new Set(GLOBAL_FLAGS.flatMap((f) => [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])]));

describe('the docs name only what envlock has', () => {
  const all = DOCS.flatMap(invocations);

  it('finds the invocations it checks in README and several documents', () => {
    expect(new Set(all.map((i) => i.file)).size).toBeGreaterThan(5);
    expect(all.length).toBeGreaterThan(50);
  });

  it.each(DOCS)('%s: every `envlock COMMAND` is a command', (file) => {
    const unknown = invocations(file).filter((i) => !specs.has(i.command)).map((i) => i.text);
    expect(unknown).toEqual([]);
  });

  it.each(DOCS)('%s: every flag given to a command is one of its flags or a global flag', (file) => {
    const wrong: string[] = [];
    for (const i of invocations(file)) {
      const spec = specs.get(i.command);
      if (spec === undefined) continue;
      const own = new Set(spec.flags.flatMap((f) => [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])]));
      for (const word of i.words) {
        if (!/^--?[a-zA-Z]/.test(word)) continue;
        const flag = word.replace(/=.*$/, '');
        // A run of short flags (-qC) or a long one with its value after '='.
        const shorts = /^-[a-zA-Z]{2,}$/.test(flag) ? [...flag.slice(1)].map((c) => `-${c}`) : [flag];
        for (const one of shorts) if (!own.has(one) && !globalNames.has(one) && one !== '--help' && one !== '-h') wrong.push(`${one} in \`${i.text}\``);
      }
    }
    expect(wrong).toEqual([]);
  });

  it.each(GUIDES)('%s tells no one to call an internal function', (file) => {
    // A code span that calls a camelCase function is envlock's TypeScript, never a user's step.
    const calls = codeOf(read(file)).flatMap((piece) => [...piece.matchAll(/\b[a-z]+[A-Z][A-Za-z]*\(/g)].map((m) => m[0]));
    expect(calls).toEqual([]);
  });
});

describe('a flag the docs name on its own', () => {
  // The SPANK plugin's own srun/sbatch options (native/spank) are envlock's flags too.
  const known = new Set([...globalNames, ...[...specs.values()].flatMap((s) => s.flags.map((f) => `--${f.name}`)), '--envlock', '--envlock-project']);
  // In the guides; design notes also name the launcher's and other programs' flags.
  it.each(GUIDES)('%s: is a flag of some envlock command', (file) => {
    const text = read(file);
    const unknown: string[] = [];
    for (const m of text.matchAll(/(?<!`)`(--[a-z][a-z-]*)(?:[= ][^`]*)?`(?!`)/g)) {
      // Flags of other programs are named with their program nearby (`srun --envlock=NAME`, `zstd --long=31`).
      const before = text.slice(Math.max(0, m.index - 60), m.index);
      if (/\b(srun|sbatch|zstd|skopeo|umoci|ch-run|unshare|tar|npm|docker|podman|apptainer|ld\.so|install\.sh|lmod|Lmod|module|ml)\b[^.]*$/.test(before)) continue;
      if (!known.has(m[1]!)) unknown.push(`${m[1]} (…${before.slice(-40).replace(/\n/g, ' ')})`);
    }
    expect(unknown).toEqual([]);
  });
});
