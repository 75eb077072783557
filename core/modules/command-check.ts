// Before a module is published: every `commands:` entry must be a program the image has, found
// the way the wrapper will find it (the PATH the command sees, symlinks resolved inside the
// image), so a typo is refused at publish time instead of becoming a wrapper that exits 127.

import fs from 'node:fs/promises';
import path from 'node:path';
import { chooseImage } from '../arch/choose.js';
import type { HostCpu } from '../arch/host.js';
import type { EnvironmentDecl } from '../declaration/model.js';
import { composeEnvironment } from '../environment/compose.js';
import { EnvlockError } from '../errors.js';
import { resolveInRootfs } from '../host/rootfs-resolve.js';
import { findBlob } from '../store/blob-store.js';
import { findRootfs } from '../store/find.js';
import type { Store } from '../store/store.js';
import type { LockedEnvironment } from '../../lockfiles/index.js';
import { quoted } from '../shown.js';

async function imagePath(store: Store, configDigest: string): Promise<string[] | undefined> {
  const file = findBlob(store, configDigest);
  if (file === undefined) return undefined;
  try {
    const env = (JSON.parse(await fs.readFile(file, 'utf8')) as { config?: { Env?: unknown } }).config?.Env;
    return Array.isArray(env) ? env.filter((e): e is string => typeof e === 'string') : undefined;
  } catch {
    return undefined;
  }
}

async function isProgram(rootfs: string, inner: string): Promise<boolean> {
  const host = await resolveInRootfs(rootfs, inner);
  if (host === undefined) return false;
  const stat = await fs.stat(host).catch(() => undefined);
  return stat !== undefined && stat.isFile() && (stat.mode & 0o111) !== 0;
}

/**
 * The commands of `env` that the image of this host's locked variant does not have; undefined
 * when that image is in no store yet (nothing can be checked).
 */
export async function missingCommands(store: Store, env: EnvironmentDecl, locked: LockedEnvironment, cpu: HostCpu & { os: string }): Promise<string[] | undefined> {
  const image = chooseImage(locked.images, cpu, { environment: env.name }).image;
  const rootfs = findRootfs(store, image.manifest.digest);
  if (rootfs === undefined) return undefined;
  const composed = composeEnvironment({ imageEnv: await imagePath(store, image.config.digest), host: {}, decl: env });
  const dirs = (composed.get('PATH') ?? '').split(':').filter((d) => path.isAbsolute(d));
  const missing: string[] = [];
  for (const command of env.commands) {
    const candidates = command.includes('/') ? [path.resolve('/', command)] : dirs.map((d) => path.join(d, command));
    let found = false;
    for (const candidate of candidates) if (!found && (await isProgram(rootfs, candidate))) found = true;
    if (!found) missing.push(command);
  }
  return missing;
}

/** The error for commands the image lacks, naming each and where they were looked for. */
export function commandsMissing(envName: string, image: string, missing: readonly string[]): EnvlockError {
  const list = missing.map((c) => quoted(c)).join(', ');
  return new EnvlockError('MODULE_COMMAND_MISSING', `The image of ${quoted(envName)} (${image}) has no program ${list} on the PATH its commands run with, so ${missing.length === 1 ? 'its wrapper' : 'their wrappers'} could only fail.`, {
    hint: `Fix \`commands:\` in the declaration (names as \`envlock run ${envName} -- sh -c 'command -v NAME'\` finds them), or add the program's directory with \`prepend-path: { PATH: [...] }\`, then lock and publish again.`,
    details: { environment: envName, missing },
  });
}
