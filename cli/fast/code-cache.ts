// V8's code cache for a fast path's bundle: the bytecode of the functions a repeated `envlock run`
// compiled the first time, kept per user and per build, so later runs neither parse nor compile
// them again (docs/benchmarks.md "run, prepared hit"). The file is the caller's own, private, and
// named by the build id, Node's version and the architecture, so a rebuilt or upgraded envlock,
// or another Node, never reads bytecode made from other source (V8 itself checks only the
// source's length). A missing, foreign, torn or rejected cache only costs the compile it saves.

import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Script } from 'node:vm';
import { readOwnFile } from '../../core/fs/read-own.js';
import { buildId } from './build-id.js';
import { envlockCacheDir } from './cache-dir.js';
import type { Env } from './types.js';

/** Bytecode of a few dozen kilobytes of source stays far below this. */
const MAX_BYTES = 8 << 20;

/** Where this build's cache for `name` lives, or undefined when there is no build id or cache directory. */
function cacheFile(name: string, env: Env): string | undefined {
  const id = buildId();
  const home = env.HOME;
  // Without an absolute HOME (and no XDG_CACHE_HOME) there is no cache, rather than one found
  // relative to wherever the command runs.
  if (id === undefined || ((home === undefined || !path.isAbsolute(home)) && !path.isAbsolute(env.XDG_CACHE_HOME ?? ''))) return undefined;
  return path.join(envlockCacheDir(env, home ?? '/'), 'code', `${name}-${id.slice(0, 32)}-${process.version}-${process.arch}.v8`);
}


/** Builds whose caches are kept side by side (a site's envlock and a user's own, across upgrades). */
const KEPT_BUILDS = 4;

/**
 * Writes this build's cache, then removes all but the newest few of `name`'s (one file per build
 * would otherwise pile up across upgrades). Written under a name no other writer uses, even one
 * on another host sharing this home, and renamed into place.
 */
function writeOwn(file: string, name: string, data: Buffer): void {
  const dir = path.dirname(file);
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  let written = false;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(temp, data, { flag: 'wx', mode: 0o600 });
    written = true;
    renameSync(temp, file);
    written = false;
    const caches = readdirSync(dir)
      .filter((other) => other.startsWith(`${name}-`) && other.endsWith('.v8'))
      .map((other) => ({ other, mtime: statSync(path.join(dir, other)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime);
    for (const { other } of caches.slice(KEPT_BUILDS)) unlinkSync(path.join(dir, other));
  } catch {
    try {
      if (written) unlinkSync(temp);
    } catch {
      // nothing was left behind
    }
  }
}

export interface CachedModule<T> {
  exports: T;
  /** Records the bytecode compiled so far, when the cache did not already hold it. */
  save(): void;
}

/**
 * Loads the CommonJS bundle `dir/name.js` as require would (same wrapper and arguments), compiled
 * with this user's code cache when there is a usable one. Code compiled this way cannot call
 * import() (Node allows it in a vm.Script only behind a flag), so a bundle that needs it calls
 * `__envlockImport` instead, which is `dynamicImport` (made by the caller, a real module).
 */
export function requireWithCodeCache<T>(dir: string, name: string, env: Env, load: NodeJS.Require, dynamicImport?: (specifier: string) => Promise<unknown>): CachedModule<T> {
  // `dir` is the entry's __dirname, absolute and normalised already.
  const file = `${dir}/${name}.js`;
  const cache = cacheFile(name, env);
  const cachedData = cache === undefined ? undefined : readOwnFile(cache, { forbiddenMode: 0o022, maxBytes: MAX_BYTES });
  const source = readFileSync(file, 'utf8');
  const script = new Script(`(function (exports, require, module, __filename, __dirname, __envlockImport) {${source}\n})`, { filename: file, ...(cachedData === undefined ? {} : { cachedData }) });
  const module = { exports: {} as T };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, load, module, file, dir, dynamicImport);
  const current = cachedData !== undefined && !script.cachedDataRejected;
  return {
    exports: module.exports,
    save: () => {
      if (!current && cache !== undefined) writeOwn(cache, name, script.createCachedData());
    },
  };
}
