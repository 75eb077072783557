// Real modulefiles for sites that keep Lmod or Environment Modules: Lua (Lmod) and Tcl (both).
// Loading one puts the module's prepared wrappers on PATH, exactly as the shim's `load` does.

import type { ModuleInfo } from './module-info.js';

export type ModulefileFormat = 'lua' | 'tcl';

export interface ModulefileInput {
  info: ModuleInfo;
  /** The prepared wrapper directory (…/.envlock/<hex>/bin). */
  wrapperDir: string;
  image: string;
}

/** A Lua long string whose level no `]=…=]` inside the text can close early. */
export function luaString(text: string): string {
  let level = 0;
  while (text.includes(`]${'='.repeat(level)}]`)) level++;
  const eq = '='.repeat(level);
  // A newline right after the opening bracket is dropped by Lua, so one is added to keep the text.
  return `[${eq}[${text.startsWith('\n') ? '\n' : ''}${text}]${eq}]`;
}

/** A Tcl double-quoted word with every substitution character escaped. */
export function tclString(text: string): string {
  return `"${text.replace(/[\\"$[\]{}]/g, (c) => `\\${c}`).replace(/\n/g, '\\n')}"`;
}

function facts(input: ModulefileInput): { description: string; help: string; conflicts: string[] } {
  const env = input.info.environment;
  const description = env.description ?? `envlock environment ${env.name}`;
  const help = [
    description,
    `Image: ${input.image}`,
    `Lock: sha256:${input.info.lockHex ?? 'none'}`,
    `Commands: ${env.commands.join(', ') || '(none)'}`,
    'Each command runs inside the pinned image through the envlock launcher.',
  ].join('\n');
  // A module that provides python/3.11 stands in for the site's python: they must not mix.
  const conflicts = [...new Set(env.provides.map((p) => p.split('/')[0]!))].filter((n) => n !== input.info.name);
  return { description, help, conflicts };
}

export function luaModulefile(input: ModulefileInput): string {
  const { description, help, conflicts } = facts(input);
  const lines = [
    `-- envlock module ${input.info.name}/${input.info.version}: written by \`envlock modulefiles\`; do not edit.`,
    `whatis(${luaString(`Name: ${input.info.name}`)})`,
    `whatis(${luaString(`Version: ${input.info.version}`)})`,
    `whatis(${luaString(`Description: ${description}`)})`,
    `help(${luaString(help)})`,
    ...conflicts.map((c) => `conflict(${luaString(c)})`),
    `setenv(${luaString(`ENVLOCK_MODULE_${input.info.name.replace(/[^A-Za-z0-9_]/g, '_')}`)}, ${luaString(input.info.version)})`,
    `prepend_path("PATH", ${luaString(input.wrapperDir)})`,
  ];
  return `${lines.join('\n')}\n`;
}

export function tclModulefile(input: ModulefileInput): string {
  const { description, help, conflicts } = facts(input);
  const lines = [
    '#%Module1.0',
    `# envlock module ${input.info.name}/${input.info.version}: written by \`envlock modulefiles\`; do not edit.`,
    `module-whatis ${tclString(`Name: ${input.info.name}`)}`,
    `module-whatis ${tclString(`Version: ${input.info.version}`)}`,
    `module-whatis ${tclString(`Description: ${description}`)}`,
    'proc ModulesHelp { } {',
    `    puts stderr ${tclString(help)}`,
    '}',
    ...conflicts.map((c) => `conflict ${tclString(c)}`),
    `setenv ${tclString(`ENVLOCK_MODULE_${input.info.name.replace(/[^A-Za-z0-9_]/g, '_')}`)} ${tclString(input.info.version)}`,
    `prepend-path PATH ${tclString(input.wrapperDir)}`,
  ];
  return `${lines.join('\n')}\n`;
}
