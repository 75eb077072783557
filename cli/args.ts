// Argument parsing in two passes: find the command name among global flags, then parse the
// command's own flags and positionals. Global flags are accepted before or after the name.

import { EnvlockError } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import { GLOBAL_FLAGS, type CommandSpec, type FlagSpec, type ParsedArgs } from './command-spec.js';
import { quoted } from '../core/shown.js';

export interface SplitArgv {
  command: string | undefined;
  /** Global flags seen before the command name. */
  before: string[];
  /** Everything after the command name. */
  after: string[];
}

function findFlag(flags: FlagSpec[], token: string): FlagSpec | undefined {
  if (token.startsWith('--')) return flags.find((f) => f.name === token.slice(2));
  return flags.find((f) => f.short !== undefined && f.short === token.slice(1));
}

function flagNames(flags: FlagSpec[]): string[] {
  return flags.flatMap((f) => (f.short ? [`--${f.name}`, `-${f.short}`] : [`--${f.name}`]));
}

/** First pass: the command name is the first token that is not a global flag or its value. */
export function splitCommand(argv: string[]): SplitArgv {
  const before: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') return { command: undefined, before, after: argv.slice(i) };
    if (!token.startsWith('-') || token === '-') return { command: token, before, after: argv.slice(i + 1) };
    before.push(token);
    const bare = token.includes('=') ? token.slice(0, token.indexOf('=')) : token;
    const spec = findFlag(GLOBAL_FLAGS, bare);
    if (spec && spec.type !== 'boolean' && !token.includes('=') && i + 1 < argv.length) before.push(argv[++i]!);
  }
  return { command: undefined, before, after: [] };
}

/** Second pass: parse tokens against a command's flags plus the global ones. */
export function parseArgs(tokens: string[], spec: Pick<CommandSpec, 'name' | 'flags' | 'passThroughAfter'> | undefined): ParsedArgs {
  const known = [...(spec?.flags ?? []), ...GLOBAL_FLAGS];
  const parsed: ParsedArgs = { flags: {}, positionals: [], rest: [], sawDoubleDash: false };
  const where = spec ? ` for \`envlock ${spec.name}\`` : '';
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token === '--') {
      parsed.sawDoubleDash = true;
      parsed.rest = tokens.slice(i + 1);
      break;
    }
    if (!token.startsWith('-') || token === '-' || /^-\d/.test(token)) {
      if (spec?.passThroughAfter !== undefined && parsed.positionals.length >= spec.passThroughAfter) {
        parsed.rest = tokens.slice(i);
        break;
      }
      parsed.positionals.push(token);
      continue;
    }
    const eq = token.startsWith('--') ? token.indexOf('=') : -1;
    const name = eq === -1 ? token : token.slice(0, eq);
    let flag = findFlag(known, name);
    let negated = false;
    if (!flag && name.startsWith('--no-')) {
      flag = known.find((f) => f.name === name.slice(5) && f.type === 'boolean');
      negated = flag !== undefined;
    }
    if (!flag) {
      throw new EnvlockError('UNKNOWN_FLAG', `Unknown flag ${quoted(name)}${where}.${didYouMean(name, flagNames(known))}`, {
        hint: spec ? `Run \`envlock ${spec.name} --help\` to see its flags.` : 'Run `envlock --help` to see the global flags.',
      });
    }
    if (flag.type === 'boolean') {
      if (eq !== -1) throw new EnvlockError('FLAG_VALUE', `Flag \`--${flag.name}\` takes no value.`, { hint: `Write \`--${flag.name}\` alone.` });
      parsed.flags[flag.name] = !negated;
      continue;
    }
    let value: string;
    if (eq !== -1) value = token.slice(eq + 1);
    else if (i + 1 < tokens.length) value = tokens[++i]!;
    else throw new EnvlockError('FLAG_VALUE', `Flag \`--${flag.name}\` needs a value${flag.valueName ? ` (${flag.valueName})` : ''}.`, { hint: `Write \`--${flag.name} ${flag.valueName ?? 'VALUE'}\`.` });
    if (flag.choices && !flag.choices.includes(value)) {
      throw new EnvlockError('FLAG_VALUE', `Flag \`--${flag.name}\` got ${quoted(value)}; expected one of ${flag.choices.join(', ')}.${didYouMean(value, flag.choices)}`);
    }
    if (flag.type === 'list') {
      const list = (parsed.flags[flag.name] as string[] | undefined) ?? [];
      list.push(value);
      parsed.flags[flag.name] = list;
    } else {
      parsed.flags[flag.name] = value;
    }
  }
  return parsed;
}

/** Typed accessors so commands do not cast. */
export const flag = {
  bool: (args: ParsedArgs, name: string): boolean => args.flags[name] === true,
  str: (args: ParsedArgs, name: string): string | undefined => {
    const v = args.flags[name];
    return typeof v === 'string' ? v : undefined;
  },
  list: (args: ParsedArgs, name: string): string[] => {
    const v = args.flags[name];
    return Array.isArray(v) ? v : [];
  },
};
