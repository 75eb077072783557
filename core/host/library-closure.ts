// The DT_NEEDED closure of host libraries: every library they load, found the way the
// host's dynamic linker would (DT_RUNPATH with $ORIGIN, LD_LIBRARY_PATH, then the ldconfig
// cache; ld.so(8) "Rpath token expansion"), except glibc itself, which the image must provide.

import fs from 'node:fs/promises';
import path from 'node:path';
import { readElfInfo } from './elf.js';
import type { LdCache } from './ldconfig.js';
import type { PlannedLibrary } from './plan-types.js';

/**
 * glibc's own libraries and loader. They are never injected: the image's glibc must be used by
 * everything in the container (the "ABI rule"; abi-check.ts proves the host libraries accept it).
 */
const GLIBC_FAMILY = /^(ld-linux[^/]*\.so\.\d+|ld64\.so\.\d+|ld\.so\.\d+|libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libresolv\.so\.2|libutil\.so\.1|libanl\.so\.1|libmvec\.so\.1|libBrokenLocale\.so\.1|libthread_db\.so\.1|libnss_[a-z0-9_]+\.so\.2|libc_malloc_debug\.so\.0|libmemusage\.so|libpcprofile\.so|libnsl\.so\.1)$/;

export function isGlibcLibrary(soname: string): boolean {
  return GLIBC_FAMILY.test(soname);
}

export interface ClosureOptions {
  cache: LdCache;
  /** The host's LD_LIBRARY_PATH, searched before the cache as ld.so does. */
  libraryPath?: string;
}

export interface ClosureResult {
  libraries: PlannedLibrary[];
  notes: string[];
}

async function isFile(p: string): Promise<boolean> {
  const stat = await fs.stat(p).catch(() => undefined);
  return stat?.isFile() === true;
}

async function locate(name: string, parentFile: string, runpath: string[], options: ClosureOptions): Promise<string | undefined> {
  if (name.includes('/')) return (await isFile(name)) ? name : undefined;
  const origin = path.dirname(parentFile);
  const dirs = [
    ...runpath.map((d) => d.replace(/\$(\{ORIGIN\}|ORIGIN)/g, origin)),
    ...(options.libraryPath ?? '').split(':'),
  ].filter((d) => path.isAbsolute(d));
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (await isFile(candidate)) return candidate;
  }
  return options.cache.find(name)?.path;
}

/**
 * Adds to `roots` every library they need, transitively, skipping glibc. A dependency that cannot
 * be found or read is a note, not an error: the image may still provide it.
 */
export async function libraryClosure(roots: PlannedLibrary[], options: ClosureOptions): Promise<ClosureResult> {
  const libraries = [...roots];
  const notes: string[] = [];
  const seen = new Set(roots.map((r) => r.soname));
  for (let i = 0; i < libraries.length; i++) {
    const parent = libraries[i]!;
    let needed: string[];
    let runpath: string[];
    try {
      const info = readElfInfo(await fs.readFile(parent.hostPath));
      needed = info.needed;
      runpath = info.runpath;
    } catch (error) {
      notes.push(`${parent.hostPath} could not be read as ELF (${error instanceof Error ? error.message : String(error)}); its dependencies are not injected.`);
      continue;
    }
    for (const name of needed) {
      const soname = path.posix.basename(name);
      if (isGlibcLibrary(soname) || seen.has(soname)) continue;
      seen.add(soname);
      const found = await locate(name, parent.hostPath, runpath, options);
      if (found === undefined) {
        notes.push(`${soname}, needed by ${parent.soname}, is not on the host; the image must provide it.`);
        continue;
      }
      const origin = parent.source.replace(/ \(needed by [^)]*\)$/, '');
      libraries.push({ hostPath: await fs.realpath(found), soname, source: `${origin} (needed by ${parent.soname})` });
    }
  }
  return { libraries, notes };
}
