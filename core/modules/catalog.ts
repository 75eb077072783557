// Every module of every tree on ENVLOCK_MODULEPATH, read in full for the Node-side commands
// (publish, index, spider, show) and for writing each tree's index.

import fs from 'node:fs';
import path from 'node:path';
import { isEnvlockError } from '../errors.js';
import { writeIndexFile, type IndexEntry } from './index-file.js';
import { readModule, type ModuleInfo } from './module-info.js';
import { PREPARED } from './prepare.js';
import { scanTree, type TreeModule } from './tree.js';
import { spiderAllText } from './describe.js';

export interface CatalogEntry {
  module: TreeModule;
  info?: ModuleInfo;
  /** Why the module cannot be read, when it cannot. */
  problem?: string;
}

export interface TreeCatalog {
  root: string;
  entries: CatalogEntry[];
  problems: string[];
}

/** Reads one tree; a broken module becomes an entry with a problem, never a thrown error. */
export async function readTree(root: string, options: { home: string }): Promise<TreeCatalog> {
  const scan = await scanTree(root);
  const entries: CatalogEntry[] = [];
  for (const m of scan.modules) {
    try {
      entries.push({ module: m, info: await readModule(m, options) });
    } catch (error) {
      if (!isEnvlockError(error)) throw error;
      entries.push({ module: m, problem: error.message });
    }
  }
  return { root: scan.root, entries, problems: scan.problems };
}

/** The prepared directory a module's current lock would use, when its spec and wrappers exist. */
export function preparedDirOf(info: ModuleInfo, cacheDir: string | undefined): string | undefined {
  if (info.lockHex === undefined) return undefined;
  const hex = info.lockHex.slice(0, 16);
  const inside = `.envlock/${hex}`;
  if (fs.existsSync(path.join(info.dir, inside, PREPARED.spec))) return inside;
  if (cacheDir === undefined || !fs.existsSync(cacheDir)) return undefined;
  for (const name of fs.readdirSync(cacheDir)) {
    if (name.endsWith(`-${hex}`) && fs.existsSync(path.join(cacheDir, name, PREPARED.spec))) return path.join(cacheDir, name);
  }
  return undefined;
}

/** Index lines for a tree: every readable module whose lock fits its declaration. */
export function indexEntries(tree: TreeCatalog, cacheDir?: string): IndexEntry[] {
  const entries: IndexEntry[] = [];
  for (const { info } of tree.entries) {
    if (info === undefined || info.lockHex === undefined || info.stale.length > 0) continue;
    const prep = preparedDirOf(info, cacheDir);
    // The prepared directory is the line's last field, so an absolute one may hold spaces.
    entries.push({
      name: info.name,
      version: info.version,
      isDefault: info.isDefault,
      lockHex: info.lockHex,
      provides: info.environment.provides,
      commands: info.environment.commands,
      prepDir: prep === undefined || (!path.isAbsolute(prep) && prep.includes(' ')) ? '-' : prep,
    });
  }
  return entries;
}

/** Re-reads a tree and writes its index; returns the catalog read and the index path. */
export async function reindexTree(root: string, options: { home: string }): Promise<{ tree: TreeCatalog; file: string; entries: IndexEntry[] }> {
  const tree = await readTree(root, options);
  const entries = indexEntries(tree);
  const file = await writeIndexFile(tree.root, entries, spiderAllText([tree]));
  return { tree, file, entries };
}
