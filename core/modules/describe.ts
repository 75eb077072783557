// Text for the Node-side sub-commands of the shim (show, spider, whatis, help), shaped like
// Lmod's so users recognise them; data comes from the module catalog.

import path from 'node:path';
import type { TreeCatalog } from './catalog.js';
import { moduleLabel, type ModuleInfo } from './module-info.js';
import { compareVersions } from './names.js';

const RULE = '-'.repeat(67);

function imageOf(info: ModuleInfo): string {
  const env = info.lock?.environments.find((e) => e.name === info.environment.name);
  return env?.resolved ?? info.environment.image;
}

/** `module show NAME`: what loading it does, in Lmod's Lua-call spelling. */
export function showText(info: ModuleInfo, wrapperDir: string | undefined): string {
  const lines = [RULE, `   ${info.dir}:`, RULE];
  if (info.environment.description) lines.push(`whatis("${info.environment.description}")`);
  lines.push(`whatis("Image: ${imageOf(info)}")`);
  if (info.lockHex) lines.push(`whatis("Lock: sha256:${info.lockHex}")`);
  if (info.environment.commands.length > 0) lines.push(`whatis("Commands: ${info.environment.commands.join(', ')}")`);
  if (info.environment.provides.length > 0) lines.push(`whatis("Provides: ${info.environment.provides.join(', ')}")`);
  lines.push(`prepend_path("PATH","${wrapperDir ?? path.join(info.dir, '.envlock', '<not prepared>', 'bin')}")`);
  if (info.stale.length > 0) lines.push(`-- the lock is out of date: ${info.stale.join('; ')}`);
  return `${lines.join('\n')}\n`;
}

export function whatisText(info: ModuleInfo): string {
  return `${moduleLabel(info).padEnd(20)}: ${info.environment.description ?? `envlock environment ${info.environment.name} (${imageOf(info)})`}\n`;
}

export function helpText(info: ModuleInfo): string {
  const lines = [`Module Specific Help for "${moduleLabel(info)}":`, ''];
  lines.push(info.environment.description ?? `The envlock environment ${info.environment.name}.`);
  lines.push(`Image: ${imageOf(info)}`);
  lines.push(`Commands: ${info.environment.commands.join(', ') || '(none)'}`);
  lines.push('Each command runs inside the pinned image through the envlock launcher.');
  return `${lines.join('\n')}\n`;
}

/** `module spider` (no name): every name with its versions and description. */
export function spiderAllText(trees: readonly TreeCatalog[]): string {
  const byName = new Map<string, { versions: string[]; description?: string; provides: Set<string> }>();
  for (const tree of trees) {
    for (const e of tree.entries) {
      const item = byName.get(e.module.name) ?? { versions: [], provides: new Set<string>() };
      item.versions.push(moduleLabel(e.module));
      item.description ??= e.info?.environment.description;
      for (const p of e.info?.environment.provides ?? []) item.provides.add(p);
      byName.set(e.module.name, item);
    }
  }
  const lines = [RULE, 'The following is a list of the modules and extensions currently available:', RULE];
  for (const name of [...byName.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const item = byName.get(name)!;
    item.versions.sort((a, b) => compareVersions(a.slice(name.length + 1), b.slice(name.length + 1)));
    lines.push(`  ${name}: ${item.versions.join(', ')}`);
    if (item.description) lines.push(`    ${item.description}`);
    if (item.provides.size > 0) lines.push(`    Provides: ${[...item.provides].join(', ')}`);
    lines.push('');
  }
  lines.push(RULE, 'To learn more about a package execute:', '', '   $ module spider Foo', '', 'where "Foo" is the name of a module.', RULE);
  return `${lines.join('\n')}\n`;
}

/** `module spider NAME`: the versions of one name (or the modules that provide an alias). */
export function spiderNameText(requested: string, matches: readonly ModuleInfo[]): string {
  const lines = [RULE, `  ${requested}:`, RULE];
  const description = matches.find((m) => m.environment.description)?.environment.description;
  if (description) lines.push(`    Description:`, `      ${description}`, '');
  lines.push('     Versions:');
  for (const m of matches) lines.push(`        ${moduleLabel(m)}${m.isDefault ? ' (D)' : ''}`);
  const provides = [...new Set(matches.flatMap((m) => m.environment.provides))];
  if (provides.length > 0) lines.push('', `     Provides: ${provides.join(', ')}`);
  lines.push(RULE);
  return `${lines.join('\n')}\n`;
}

/**
 * `module avail` for trees the shell could not read an index of (made by hand): the same layout
 * the shim's awk program prints — a dashed header per tree, columns, (D) and (L) markers.
 */
export function availText(trees: readonly TreeCatalog[], options: { loaded: readonly string[]; pattern?: string; terse?: boolean; defaultOnly?: boolean; width?: number }): string {
  const width = options.width !== undefined && options.width >= 20 ? options.width : 80;
  const lines: string[] = [];
  let usedD = false;
  let usedL = false;
  for (const tree of trees) {
    const items: string[] = [];
    for (const { module } of tree.entries) {
      const label = moduleLabel(module);
      if (options.pattern && !label.includes(options.pattern)) continue;
      if (options.defaultOnly && !module.isDefault) continue;
      const loaded = options.loaded.includes(label);
      const mark = [loaded ? 'L' : '', module.isDefault ? 'D' : ''].filter((m) => m !== '').join(',');
      usedD ||= module.isDefault;
      usedL ||= loaded;
      items.push(options.terse || mark === '' ? label : `${label} (${mark})`);
    }
    if (items.length === 0) continue;
    if (options.terse) {
      lines.push(`${tree.root}:`, ...items);
      continue;
    }
    const w = Math.max(...items.map((i) => i.length));
    const cols = Math.max(1, Math.floor((width - 3) / (w + 3)));
    lines.push('', `-------------------- ${tree.root} --------------------`);
    for (let i = 0; i < items.length; i += cols) {
      lines.push(items.slice(i, i + cols).map((item) => `   ${item.padEnd(w)}`).join('').trimEnd());
    }
  }
  if (!options.terse && (usedD || usedL)) {
    lines.push('', '  Where:');
    if (usedD) lines.push('   D:  Default Module');
    if (usedL) lines.push('   L:  Module is loaded');
    lines.push('');
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** `module keyword WORD...`: the modules whose name, description, aliases or commands hold a word (any case). */
export function keywordText(trees: readonly TreeCatalog[], words: readonly string[]): string {
  const wanted = words.map((w) => w.toLowerCase());
  const byName = new Map<string, string[]>();
  for (const tree of trees) {
    for (const { module, info } of tree.entries) {
      const env = info?.environment;
      const text = [module.name, module.version, env?.description ?? '', ...(env?.provides ?? []), ...(env?.commands ?? [])].join(' ').toLowerCase();
      if (!wanted.some((w) => text.includes(w))) continue;
      byName.set(module.name, [...(byName.get(module.name) ?? []), moduleLabel(module)]);
    }
  }
  const lines = [RULE, '', `The following modules match your search criteria: ${words.map((w) => `"${w}"`).join(' ')}`, RULE, ''];
  for (const name of [...byName.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) lines.push(`  ${name}: ${byName.get(name)!.join(', ')}`, '');
  lines.push(RULE, '', 'To learn more about a package execute:', '', '   $ module spider Foo', '', 'where "Foo" is the name of a module.', RULE);
  return `${lines.join('\n')}\n`;
}

/** `module overview`: each name with its number of versions, one section per tree, as Lmod lays it out. */
export function overviewText(trees: readonly TreeCatalog[], width = 80): string {
  const lines: string[] = [];
  for (const tree of trees) {
    const counts = new Map<string, number>();
    for (const { module } of tree.entries) counts.set(module.name, (counts.get(module.name) ?? 0) + 1);
    if (counts.size === 0) continue;
    const items = [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, n]) => `${name} (${n})`);
    const w = Math.max(...items.map((i) => i.length));
    const cols = Math.max(1, Math.floor(width / (w + 3)));
    lines.push('', `-------------------- ${tree.root} --------------------`);
    for (let i = 0; i < items.length; i += cols) lines.push(items.slice(i, i + cols).map((item) => item.padEnd(w + 3)).join('').trimEnd());
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

