// What `envlock pull` (and `lock`) call after writing a project: when the project directory is a
// module, ROOT/NAME/VERSION of a tree, its wrappers are prepared again and the tree re-indexed,
// so the shim's fast path stays current.

import fs from 'node:fs/promises';
import path from 'node:path';
import { EnvlockError, isEnvlockError } from '../errors.js';
import { reindexTree } from './catalog.js';
import { INDEX_FILE } from './index-file.js';
import { readModule } from './module-info.js';
import { prepareModule, type ModuleRuntimeOptions, type PreparedModule } from './module-runtime.js';
import { isModulePart } from './names.js';
import { modulePathRoots, scanTree } from './tree.js';

export interface RefreshOptions extends ModuleRuntimeOptions {
  home: string;
  cwd: string;
  /** ENVLOCK_MODULEPATH; a directory two levels under one of its trees, or under a tree with an index, is a module. */
  modulePath: string | undefined;
}

export interface RefreshResult extends PreparedModule {
  label: string;
  indexFile: string | undefined;
}

async function isTree(root: string, listed: readonly string[]): Promise<boolean> {
  if (listed.includes(root)) return true;
  try {
    return (await fs.stat(path.join(root, INDEX_FILE))).isFile();
  } catch {
    return false;
  }
}

/**
 * Prepares the module at `dir` and rewrites its tree's index; undefined when `dir` is not a
 * module. Failures to prepare (a stale lock, an image not pulled) are thrown; a tree whose index
 * cannot be written (read-only) only loses its index update, as the shim falls back to the CLI.
 */
export async function refreshModuleDir(dir: string, options: RefreshOptions): Promise<RefreshResult | undefined> {
  const absolute = path.resolve(options.cwd, dir);
  const version = path.basename(absolute);
  const name = path.basename(path.dirname(absolute));
  const root = path.dirname(path.dirname(absolute));
  if (!isModulePart(version) || !isModulePart(name) || version === 'default') return undefined;
  if (!(await isTree(root, modulePathRoots(options.modulePath, options.cwd)))) return undefined;
  const module = (await scanTree(root)).modules.find((m) => m.name === name && m.version === version);
  if (module === undefined) return undefined;
  const info = await readModule(module, { home: options.home });
  const prepared = await prepareModule(info, options);
  let indexFile: string | undefined;
  try {
    indexFile = (await reindexTree(root, { home: options.home })).file;
  } catch (error) {
    if (!isEnvlockError(error) || (error as EnvlockError).code !== 'IO') throw error;
  }
  return { ...prepared, label: `${name}/${version}`, indexFile };
}
