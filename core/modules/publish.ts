// Publishing a locked project into a module tree: copy its declaration and lock to
// ROOT/NAME/VERSION/, optionally mark the default, prepare the wrappers and rewrite the index.

import fs from 'node:fs/promises';
import path from 'node:path';
import { loadDeclaration } from '../declaration/load.js';
import { EnvlockError, errnoCode } from '../errors.js';
import { tempSibling, writeFileAtomic } from '../fs/atomic-write.js';
import { LOCKFILE_NAME, assertFresh, readLockfile, type Lockfile } from '../../lockfiles/index.js';
import type { Declaration } from '../declaration/model.js';
import { hostCpu } from '../project.js';
import { commandsMissing, missingCommands } from './command-check.js';
import { reindexTree } from './catalog.js';
import { readModule } from './module-info.js';
import { assertRunsWrappers, prepareModule, type ModuleRuntimeOptions, type PreparedModule } from './module-runtime.js';
import { isModulePart } from './names.js';
import { isVersionOf } from './prepare.js';
import { ensureTrustedDir } from './trusted-dir.js';
import { quoted } from '../shown.js';

export interface PublishInput extends ModuleRuntimeOptions {
  /** The project directory holding envlock.yaml (or .toml) and envlock.lock. */
  sourceDir: string;
  root: string;
  /** Module name; default: the environment's name. */
  name?: string;
  version: string;
  makeDefault?: boolean;
  home: string;
  /** Leave the tree's index alone (a batch of publishes followed by one `envlock module index`). */
  skipIndex?: boolean;
  /** Called when the image is not in any store yet (the CLI passes `pull`); then prepared again. */
  ensurePulled?: (dir: string) => Promise<void>;
}

export interface PublishResult extends PreparedModule {
  label: string;
  dir: string;
  /** The index rewritten, or undefined with skipIndex. */
  indexFile: string | undefined;
}

function invalidPart(kind: string, value: string): EnvlockError {
  return new EnvlockError('FLAG_VALUE', `Module ${kind} ${quoted(value)} is not valid: use letters, digits, \`.\`, \`_\`, \`+\` and \`-\`.`, {
    hint: `Pass a ${kind} such as \`${kind === 'name' ? 'analysis' : '2.0'}\`.`,
  });
}

/**
 * Through an unpredictable O_EXCL|O_NOFOLLOW temp name: a group member cannot pre-plant it (issue
 * 12.6). The same bytes are left alone, mtime included, so a wrapper running while the same lock
 * is published again never finds it newer than its spec.
 */
async function copyInto(file: string, dir: string): Promise<void> {
  await writeFileAtomic(path.join(dir, path.basename(file)), await fs.readFile(file), { skipIfSame: true });
}

/**
 * Refuses, before anything is written, a `commands:` entry the image does not have; an image in
 * no store yet is pulled first (from the project itself) so that it can be checked.
 */
async function checkCommands(declaration: Declaration, lock: Lockfile, input: PublishInput): Promise<void> {
  const env = declaration.environments[0]!;
  const locked = lock.environments.find((e) => e.name === env.name);
  if (locked === undefined || env.commands.length === 0) return;
  const cpu = input.host ?? (await hostCpu());
  let missing = await missingCommands(input.store, env, locked, cpu);
  if (missing === undefined && input.ensurePulled !== undefined) {
    await input.ensurePulled(input.sourceDir);
    missing = await missingCommands(input.store, env, locked, cpu);
  }
  if (missing !== undefined && missing.length > 0) throw commandsMissing(env.name, locked.resolved, missing);
}

export async function publishModule(input: PublishInput): Promise<PublishResult> {
  const declaration = await loadDeclaration(input.sourceDir, { home: input.home });
  if (declaration.environments.length !== 1) {
    throw new EnvlockError('MODULE_TREE_INVALID', `${declaration.file} declares ${declaration.environments.length} environments; a module holds exactly one.`, {
      hint: 'Publish a project with one environment, or split the declaration into one project per environment.',
    });
  }
  const lock = await readLockfile(input.sourceDir);
  assertFresh(declaration, lock, { command: 'module publish' });
  await checkCommands(declaration, lock!, input);
  const name = input.name ?? declaration.environments[0]!.name;
  if (!isModulePart(name)) throw invalidPart('name', name);
  if (!isModulePart(input.version) || input.version === 'default') throw invalidPart('version', input.version);
  const root = path.resolve(input.root);
  if (root.includes(':')) {
    throw new EnvlockError('MODULE_TREE_INVALID', `Module tree ${root} holds a \`:\`, which ENVLOCK_MODULEPATH cannot hold.`, { hint: 'Publish into a directory whose path has no colon.' });
  }
  const dir = path.join(root, name, input.version);
  // Before anything is written: a module published for a launcher its wrappers cannot use would be broken.
  assertRunsWrappers(input.launcherPath, `${name}/${input.version}`);
  try {
    await fs.mkdir(root, { recursive: true, mode: 0o755 });
    // Below the tree's root, nothing planted by someone else is written through (issue 12.6).
    await ensureTrustedDir(path.join(root, name));
    await ensureTrustedDir(dir);
    for (const other of ['envlock.yaml', 'envlock.toml']) {
      if (other !== path.basename(declaration.file)) await fs.rm(path.join(dir, other), { force: true });
    }
    // The lock first, then the declaration: the prepared spec is written after both, so the
    // wrappers' `-nt` check sees the spec as newer than what it was made from.
    await copyInto(path.join(input.sourceDir, LOCKFILE_NAME), dir);
    await copyInto(declaration.file, dir);
    if (input.makeDefault) {
      // A fresh link renamed over the old one: never a moment without a default.
      const link = path.join(root, name, 'default');
      const temp = tempSibling(link);
      await fs.symlink(input.version, temp);
      await fs.rename(temp, link).catch(async (error: unknown) => {
        await fs.rm(temp, { force: true });
        throw error;
      });
    }
  } catch (error) {
    if (error instanceof EnvlockError) throw error;
    throw new EnvlockError('IO', `Cannot publish into ${dir}: ${errnoCode(error) ?? String(error)}.`, { hint: 'Check that the module tree is writable by you.', cause: error });
  }
  const tree = { root, name, version: input.version, dir, isDefault: false };
  let info = await readModule(tree, { home: input.home });
  let prepared: PreparedModule;
  try {
    prepared = await prepareModule(info, input);
  } catch (error) {
    if (!(error instanceof EnvlockError) || error.code !== 'IMAGE_NOT_PULLED' || input.ensurePulled === undefined) throw error;
    await input.ensurePulled(dir);
    info = await readModule(tree, { home: input.home });
    prepared = await prepareModule(info, input);
  }
  // Wrappers of earlier locks of this version are no longer reachable from the index.
  const keep = path.basename(prepared.prepDir);
  const inside = path.isAbsolute(prepared.prepDir) ? [] : await fs.readdir(path.join(dir, '.envlock')).catch(() => [] as string[]);
  for (const old of inside) {
    if (old !== keep && !isVersionOf(prepared.prepDir, old)) await fs.rm(path.join(dir, '.envlock', old), { recursive: true, force: true });
  }
  const indexFile = input.skipIndex ? undefined : (await reindexTree(root, { home: input.home })).file;
  return { ...prepared, label: `${name}/${input.version}`, dir, indexFile };
}
