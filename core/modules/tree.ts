// Reads a module tree: ROOT/NAME/VERSION/ directories that hold a declaration, and the default
// version of each name, marked as Lmod marks it (a `default` symlink or file, or `.version`).

import fs from 'node:fs/promises';
import path from 'node:path';
import { DECLARATION_FILES } from '../declaration/model.js';
import { EnvlockError, errnoCode } from '../errors.js';
import { highestVersion, isModulePart } from './names.js';

export interface TreeModule {
  root: string;
  name: string;
  version: string;
  /** ROOT/NAME/VERSION */
  dir: string;
  isDefault: boolean;
}

export interface TreeScan {
  root: string;
  modules: TreeModule[];
  /** Entries skipped, one sentence each (bad names, unreadable directories). */
  problems: string[];
}

async function listDir(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

async function isModuleDir(dir: string): Promise<boolean> {
  for (const file of DECLARATION_FILES) {
    try {
      if ((await fs.stat(path.join(dir, file))).isFile()) return true;
    } catch {
      // not this one
    }
  }
  return false;
}

/** The version a `default` link or file, or a Tcl `.version` file, names; undefined when none does. */
export async function markedDefault(nameDir: string): Promise<string | undefined> {
  const link = path.join(nameDir, 'default');
  try {
    return path.basename(await fs.readlink(link));
  } catch {
    // not a symlink: maybe a plain file holding the version
  }
  for (const [file, pattern] of [['default', /^\s*([^\s#]+)/], ['.version', /ModulesVersion\s+"?([^"\s]+)"?/]] as const) {
    try {
      const match = pattern.exec(await fs.readFile(path.join(nameDir, file), 'utf8'));
      if (match && isModulePart(match[1]!)) return match[1]!;
    } catch {
      // absent
    }
  }
  return undefined;
}

/** Every module in one tree; the tree root itself must be a readable directory (MODULE_TREE_INVALID). */
export async function scanTree(root: string): Promise<TreeScan> {
  const absolute = path.resolve(root);
  let names: string[];
  try {
    names = await listDir(absolute);
  } catch (error) {
    throw new EnvlockError('MODULE_TREE_INVALID', `Module tree ${absolute} cannot be read: ${errnoCode(error) ?? String(error)}.`, {
      hint: 'Fix the path in ENVLOCK_MODULEPATH, or make the directory readable.',
      cause: error,
      details: { root: absolute },
    });
  }
  const scan: TreeScan = { root: absolute, modules: [], problems: [] };
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const nameDir = path.join(absolute, name);
    let versions: string[];
    try {
      if (!(await fs.stat(nameDir)).isDirectory()) continue;
      versions = await listDir(nameDir);
    } catch (error) {
      scan.problems.push(`${nameDir} cannot be read (${errnoCode(error) ?? String(error)})`);
      continue;
    }
    if (!isModulePart(name)) {
      scan.problems.push(`${nameDir} is not a valid module name`);
      continue;
    }
    const found: string[] = [];
    for (const version of versions) {
      if (version.startsWith('.') || version === 'default') continue;
      if (!isModulePart(version)) {
        scan.problems.push(`${path.join(nameDir, version)} is not a valid module version`);
        continue;
      }
      if (await isModuleDir(path.join(nameDir, version))) found.push(version);
    }
    const marked = await markedDefault(nameDir);
    const chosen = marked !== undefined && found.includes(marked) ? marked : highestVersion(found);
    for (const version of found) {
      scan.modules.push({ root: absolute, name, version, dir: path.join(nameDir, version), isDefault: version === chosen });
    }
  }
  return scan;
}

/** ENVLOCK_MODULEPATH split like MODULEPATH: colon-separated, empty parts ignored, duplicates once. */
export function modulePathRoots(value: string | undefined, cwd: string): string[] {
  const roots: string[] = [];
  for (const part of (value ?? '').split(':')) {
    if (part === '') continue;
    const root = path.resolve(cwd, part);
    if (!roots.includes(root)) roots.push(root);
  }
  return roots;
}
