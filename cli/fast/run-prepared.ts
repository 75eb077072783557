// `envlock run` from the prepared-run cache without loading the full CLI: the same hit the
// full `run` takes (core/enter/prepared-hit.ts: the declaration and lock read, the cache entry
// read, the image and its meta stat'ed, the store trusted), then the execve of the launcher.
// Only a plain command line is taken here: global flags and `run [NAME] [--] COMMAND`; any
// `run` flag, and anything unexpected, leaves the work (and the talking) to the full CLI.

import path from 'node:path';
import { makeContext } from '../../core/context.js';
import { preparedRunHit, type PreparedHit, type RunWords } from '../../core/enter/prepared-hit.js';
import type { Invocation } from '../../core/enter/prepared.js';
import { launch } from '../../core/runtime/launch.js';
import { isDirectory } from './records.js';
import type { Env } from './types.js';

interface RunLine {
  json: boolean;
  quiet: boolean;
  offline: boolean;
  directory?: string;
  store?: string;
  words: RunWords;
}

const BOOLEANS: Record<string, 'json' | 'quiet' | 'offline'> = { '--json': 'json', '--quiet': 'quiet', '-q': 'quiet', '--offline': 'offline' };
const VALUES: Record<string, 'directory' | 'store'> = { '--directory': 'directory', '-C': 'directory', '--store': 'store' };

/** A word that cli/args.ts takes as a positional rather than a flag. */
const isWord = (token: string): boolean => !token.startsWith('-') || token === '-' || /^-\d/.test(token);

/**
 * The command line split as cli/args.ts splits `run` (global flags anywhere before the command,
 * at most one positional, the rest after `--` or after it), or undefined for anything else.
 */
export function scanRunLine(argv: readonly string[]): RunLine | undefined {
  const line: RunLine = { json: false, quiet: false, offline: false, words: { positionals: [], rest: [], sawDoubleDash: false } };
  let named = false;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (named && token === '--') {
      line.words = { ...line.words, sawDoubleDash: true, rest: argv.slice(i + 1) };
      return line;
    }
    if (isWord(token)) {
      if (!named) {
        if (token !== 'run') return undefined;
        named = true;
      } else if (line.words.positionals.length === 0) {
        line.words.positionals.push(token);
      } else {
        line.words.rest = argv.slice(i);
        return line;
      }
      continue;
    }
    const eq = token.startsWith('--') ? token.indexOf('=') : -1;
    const name = eq === -1 ? token : token.slice(0, eq);
    const boolean = BOOLEANS[name];
    if (boolean !== undefined && eq === -1 && !line[boolean]) {
      line[boolean] = true;
      continue;
    }
    const valued = VALUES[name];
    if (valued === undefined || line[valued] !== undefined) return undefined;
    const value = eq !== -1 ? token.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '') return undefined;
    line[valued] = value;
  }
  return named ? line : undefined;
}

/** What `run` makes of a command line without flags of its own (cli/run-flags.ts invocation). */
const plainInvocation = (command: string[]): Invocation => ({ command, binds: [], overrides: {}, fakeRoot: false, hostTmp: false });

/**
 * Replaces this process with the launcher when the cache answers this run; returns (having
 * changed nothing) when it does not, or when the launcher could not be executed, so the full
 * CLI then runs and explains. `beforeExec` runs just before the execve, once the spec is rendered
 * (the entry records its code cache there: what a hit compiles is known only then).
 */
export function enterPrepared(argv: readonly string[], env: Env, beforeExec: () => void = () => undefined): void {
  const line = scanRunLine(argv);
  if (line === undefined) return;
  // process.cwd() is a directory (it throws when that is gone); only -C needs a look.
  const cwd = line.directory === undefined ? process.cwd() : path.resolve(line.directory);
  if (line.directory !== undefined && !isDirectory(cwd)) return;
  const ctx = makeContext({
    cwd,
    // One copy of process.env, whose every read goes through the C++ environment: the spec's
    // environment and the launcher's are both made from it.
    env: { ...env },
    offline: line.offline,
    quiet: line.quiet,
    json: line.json,
    ...(line.store === undefined ? {} : { storeOverride: line.store }),
  });
  let hit: PreparedHit | undefined;
  try {
    hit = preparedRunHit(ctx, line.words, plainInvocation);
  } catch {
    return;
  }
  if (hit === undefined) return;
  const started = process.cwd();
  try {
    launch(hit.spec, hit.argv, ctx, { beforeExec });
  } catch {
    // launch changes into the run's directory before the execve; the full CLI starts where we did.
    try {
      process.chdir(started);
    } catch {
      // the directory is gone; the full CLI then says so
    }
  }
}
