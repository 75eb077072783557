// Where the native runtime lives: the package's native/build/Release directory holds the
// addon (envlock_native.node) and the launcher executable (envlock-launch).

import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Env } from '../context.js';
import { EnvlockError } from '../errors.js';

const BUILD_HINT = 'Rebuild the native runtime with `npm rebuild envlock` (it needs a C compiler and make), or set ENVLOCK_LAUNCHER to a built envlock-launch.';

/** The package root: the nearest directory above this module that holds native/binding.gyp. */
export function packageRoot(from: string = import.meta.dirname): string {
  // Resolved once, then walked up with string operations (path.join and path.dirname scan each
  // path character by character, and a repeated `run` walks this on every start).
  let dir = path.resolve(from);
  for (let i = 0; i < 8; i++) {
    if (existsSync(`${dir === '/' ? '' : dir}/native/binding.gyp`)) return dir;
    if (dir === '/') break;
    dir = dir.slice(0, dir.lastIndexOf('/')) || '/';
  }
  throw new EnvlockError('RUNTIME_UNAVAILABLE', `The native runtime sources (native/binding.gyp) were not found above ${from}.`, { hint: BUILD_HINT });
}

let buildDir: string | undefined;

/** native/build/Release of the package (searched for once: a repeated `run` asks twice). */
export function nativeBuildDir(): string {
  return (buildDir ??= path.join(packageRoot(), 'native', 'build', 'Release'));
}

/**
 * The launcher to execute: ENVLOCK_LAUNCHER when set (a site may install one at a fixed path
 * that its AppArmor profile allows, pitfalls 3.5), else the one built with the package. A
 * relative ENVLOCK_LAUNCHER means relative to `cwd` (where envlock was asked to work).
 */
export function launcherPath(env: Env = {}, cwd?: string): string {
  const explicit = env.ENVLOCK_LAUNCHER;
  const chosen = explicit !== undefined && explicit !== ''
    ? (cwd === undefined ? explicit : path.resolve(cwd, explicit))
    : path.join(nativeBuildDir(), 'envlock-launch');
  if (!existsSync(chosen)) {
    throw new EnvlockError('RUNTIME_UNAVAILABLE', `The launcher ${chosen} does not exist, so envlock cannot enter environments.`, {
      hint: BUILD_HINT,
      details: { path: chosen },
    });
  }
  return chosen;
}

export { BUILD_HINT };
