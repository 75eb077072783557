// Help text generated from the command table and each command's flag metadata,
// so help can never drift from what the parser accepts.

import { GLOBAL_FLAGS, type CommandSpec, type FlagSpec } from './command-spec.js';
import { COMMANDS } from './command-table.js';

function flagLabel(flag: FlagSpec): string {
  const long = `--${flag.name}${flag.type === 'boolean' ? '' : ` <${flag.valueName ?? 'VALUE'}>`}`;
  return flag.short ? `-${flag.short}, ${long}` : `    ${long}`;
}

function table(rows: [string, string][], indent = '  '): string {
  const width = Math.max(0, ...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `${indent}${left.padEnd(width)}  ${right}`).join('\n');
}

function flagRows(flags: FlagSpec[]): [string, string][] {
  return flags.map((f) => [flagLabel(f), f.description + (f.type === 'list' ? ' (repeatable)' : '') + (f.choices ? ` [${f.choices.join('|')}]` : '')]);
}

export function mainHelp(version: string): string {
  return [
    `envlock ${version}: declare, lock and enter pinned environments without root.`,
    '',
    'Usage: envlock [GLOBAL FLAGS] <COMMAND> [FLAGS] [ARGS]',
    '',
    'Commands:',
    table(COMMANDS.map((c) => [c.name, c.summary])),
    '',
    'Global flags (before or after the command):',
    table(flagRows(GLOBAL_FLAGS)),
    '',
    'Run `envlock help COMMAND` or `envlock COMMAND --help` for a command\'s flags.',
    'Exit codes: 0 ok, 1 failure, 2 usage, 3 lock stale or missing, 4 host cannot run it, 70 internal.',
    'Documentation: docs/cli.md in the envlock repository.',
    '',
  ].join('\n');
}

export function commandHelp(spec: CommandSpec): string {
  const lines = [`envlock ${spec.name}: ${spec.summary}`, '', `Usage: ${spec.usage}`];
  if (spec.description) lines.push('', spec.description.trim());
  if (spec.positionals.length > 0) {
    lines.push('', 'Arguments:', table(spec.positionals.map((p) => [p.variadic ? `${p.name}...` : p.name, p.description + (p.required ? '' : ' (optional)')])));
  }
  if (spec.flags.length > 0) lines.push('', 'Flags:', table(flagRows(spec.flags)));
  lines.push('', 'Global flags:', table(flagRows(GLOBAL_FLAGS)));
  if (spec.examples && spec.examples.length > 0) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  lines.push('');
  return lines.join('\n');
}
