// One module directory read in full: its declaration (exactly one environment), its lock, the
// lock's digest and whether the lock still fits the declaration.

import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { loadDeclaration } from '../declaration/load.js';
import type { Declaration, EnvironmentDecl } from '../declaration/model.js';
import { EnvlockError, errnoCode } from '../errors.js';
import { LOCKFILE_NAME, readLockfile, staleReasons, type Lockfile } from '../../lockfiles/index.js';
import type { TreeModule } from './tree.js';

export interface ModuleInfo extends TreeModule {
  declaration: Declaration;
  environment: EnvironmentDecl;
  lock: Lockfile | undefined;
  lockFile: string;
  /** Hex sha256 of the lockfile's bytes; undefined when there is no lock. */
  lockHex: string | undefined;
  /** Why the lock does not fit (empty when it does), from lockfiles/staleness.ts. */
  stale: string[];
}

export function moduleLabel(m: Pick<TreeModule, 'name' | 'version'>): string {
  return `${m.name}/${m.version}`;
}

/** Hex sha256 of a file's bytes, or undefined when it does not exist. */
export async function fileSha256(file: string): Promise<string | undefined> {
  try {
    return createHash('sha256').update(await fs.readFile(file)).digest('hex');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw new EnvlockError('IO', `Cannot read ${file}: ${errnoCode(error) ?? String(error)}.`, { hint: 'Check that the file is readable by you.', cause: error });
  }
}

/** Reads a module; a declaration with other than one environment is MODULE_TREE_INVALID. */
export async function readModule(m: TreeModule, options: { home: string }): Promise<ModuleInfo> {
  const declaration = await loadDeclaration(m.dir, { home: options.home });
  if (declaration.environments.length !== 1) {
    const names = declaration.environments.map((e) => e.name).join(', ');
    throw new EnvlockError('MODULE_TREE_INVALID', `Module ${moduleLabel(m)} declares ${declaration.environments.length} environments (${names || 'none'}); a module holds exactly one.`, {
      hint: `Keep one environment in ${declaration.file}, or publish each environment as its own module.`,
      details: { dir: m.dir },
    });
  }
  const lockFile = path.join(m.dir, LOCKFILE_NAME);
  const lockHex = await fileSha256(lockFile);
  const lock = lockHex === undefined ? undefined : await readLockfile(m.dir);
  return { ...m, declaration, environment: declaration.environments[0]!, lock, lockFile, lockHex, stale: staleReasons(declaration, lock) };
}

/** Throws LOCK_MISSING / LOCK_STALE for a module whose lock does not fit, with the command to fix it. */
export function assertModuleFresh(info: ModuleInfo): asserts info is ModuleInfo & { lock: Lockfile; lockHex: string } {
  if (info.lock === undefined || info.lockHex === undefined) {
    throw new EnvlockError('LOCK_MISSING', `Module ${moduleLabel(info)} has no ${LOCKFILE_NAME} in ${info.dir}.`, {
      hint: `Run \`envlock lock -C ${info.dir}\`, or publish the module again with \`envlock module publish\`.`,
      details: { dir: info.dir },
    });
  }
  if (info.stale.length > 0) {
    throw new EnvlockError('LOCK_STALE', `Module ${moduleLabel(info)} has a lock that is out of date with its declaration: ${info.stale.join('; ')}.`, {
      hint: `Run \`envlock lock -C ${info.dir}\`, then \`envlock pull -C ${info.dir}\`.`,
      details: { dir: info.dir, reasons: info.stale },
    });
  }
}
