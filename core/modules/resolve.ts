// Which module a name means, by the rules the shell shim also follows (docs/modules.md "Names"):
// NAME/VERSION exactly, NAME's default version, then `provides:` aliases; the first tree wins.

import { EnvlockError } from '../errors.js';
import { shown } from '../shown.js';
import { nearest } from '../suggest.js';
import type { CatalogEntry, TreeCatalog } from './catalog.js';
import { moduleLabel, type ModuleInfo } from './module-info.js';

function usable(entry: CatalogEntry): ModuleInfo | undefined {
  return entry.info;
}

function byAlias(tree: TreeCatalog, requested: string, exact: boolean): CatalogEntry[] {
  return tree.entries.filter(({ info }) =>
    info !== undefined && info.environment.provides.some((p) => (exact ? p === requested : p.split('/')[0] === requested)),
  );
}

/** The catalog entry a requested name resolves to, or undefined when no tree knows it. */
export function findModule(trees: readonly TreeCatalog[], requested: string): CatalogEntry | undefined {
  const slash = requested.indexOf('/');
  for (const tree of trees) {
    if (slash > 0) {
      const hit = tree.entries.find((e) => moduleLabel(e.module) === requested);
      if (hit) return hit;
    } else {
      const hit = tree.entries.find((e) => e.module.name === requested && e.module.isDefault);
      if (hit) return hit;
    }
  }
  for (const exact of [true, false]) {
    if (!exact && slash > 0) break;
    for (const tree of trees) {
      const hits = byAlias(tree, requested, exact);
      if (hits.length === 1) return hits[0];
      if (hits.length > 1) {
        const labels = hits.map((h) => moduleLabel(h.module));
        throw new EnvlockError('MODULE_AMBIGUOUS', `Module name "${requested}" is provided by ${labels.length} modules in ${tree.root}: ${labels.join(', ')}.`, {
          hint: `Load one of them by its full name, for example \`module load ${labels[0]}\`.`,
          details: { requested, candidates: labels },
        });
      }
    }
  }
  return undefined;
}

/** Every name a user could type: NAME, NAME/VERSION and the aliases. */
export function knownNames(trees: readonly TreeCatalog[]): string[] {
  const names = new Set<string>();
  for (const tree of trees) {
    for (const entry of tree.entries) {
      names.add(entry.module.name);
      names.add(moduleLabel(entry.module));
      for (const p of usable(entry)?.environment.provides ?? []) names.add(p);
    }
  }
  return [...names];
}

/** MODULE_UNKNOWN worded like Lmod's "The following module(s) are unknown", with a suggestion. */
export function unknownModules(trees: readonly TreeCatalog[], requested: readonly string[], siteNames: readonly string[] = []): EnvlockError {
  const quoted = requested.map((r) => `"${shown(r)}"`).join(' ');
  // One suggestion over both sides: envlock's names and those the site's module command offers.
  const known = [...knownNames(trees), ...siteNames, ...siteNames.map((n) => n.split('/')[0]!)];
  const suggestions = requested.map((r) => nearest(r, known)).filter((s): s is string => s !== undefined);
  const hint = suggestions.length > 0
    ? `Did you mean ${suggestions.map((s) => `"${s}"`).join(', ')}? Run \`module spider\` to list every module.`
    : 'Check the spelling or version number, and run `module spider` to list every module.';
  return new EnvlockError('MODULE_UNKNOWN', `The following module(s) are unknown: ${quoted}.`, { hint, details: { requested, suggestions } });
}

/** Resolves every name or throws (nothing is half-resolved): MODULE_UNKNOWN lists all unknown ones. */
export function resolveModules(trees: readonly TreeCatalog[], requested: readonly string[]): CatalogEntry[] {
  const found: CatalogEntry[] = [];
  const missing: string[] = [];
  for (const name of requested) {
    const hit = findModule(trees, name);
    if (hit === undefined) missing.push(name);
    else found.push(hit);
  }
  if (missing.length > 0) throw unknownModules(trees, missing);
  return found;
}
