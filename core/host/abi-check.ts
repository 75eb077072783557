// Checks, before launch, that host libraries to inject can load against the image's own glibc:
// the symbol versions each one needs (verneed) must all be defined (verdef) by the image's
// libc, ld.so, libm…, compared as sets of names (pitfalls 4.2), and the ELF machine must match.

import { closeSync, openSync, readdirSync, readSync, statSync, type Dirent } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { EnvlockError } from '../errors.js';
import { machineName, readElfInfo, type ElfInfo } from './elf.js';
import { isGlibcLibrary } from './library-closure.js';
import type { InjectionPlan } from './plan-types.js';
import { resolveInRootfs } from './rootfs-resolve.js';

/** Library directories of an image, multiarch first (Debian/Ubuntu), then lib64 (RHEL/SUSE), then plain. */
const IMAGE_LIB_DIRS = [
  '/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu',
  '/lib/aarch64-linux-gnu', '/usr/lib/aarch64-linux-gnu',
  '/lib/powerpc64le-linux-gnu', '/usr/lib/powerpc64le-linux-gnu',
  '/lib/s390x-linux-gnu', '/usr/lib/s390x-linux-gnu',
  '/lib/riscv64-linux-gnu', '/usr/lib/riscv64-linux-gnu',
  '/lib64', '/usr/lib64', '/lib', '/usr/lib',
];

/** Non-glibc runtime libraries whose versions are checked too when the image supplies them (GLIBCXX_*, GCC_*). */
const ALSO_CHECKED = new Set(['libstdc++.so.6', 'libgcc_s.so.1']);

export interface AbiLibrary {
  hostPath: string;
  soname?: string;
}

export interface AbiReport {
  /** The image's glibc version, from the highest GLIBC_2.N its libc defines; undefined without glibc. */
  glibcVersion?: string;
  /** The image libc's machine, e.g. x86-64. */
  machine?: string;
}

function glibcNumber(name: string): [number, number, number] | undefined {
  const m = /^GLIBC_(\d+)\.(\d+)(?:\.(\d+))?$/.exec(name);
  return m === null ? undefined : [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

/** The highest GLIBC_x.y[.z] in a list, as "x.y[.z]". */
export function highestGlibc(versions: Iterable<string>): string | undefined {
  let best: [number, number, number] | undefined;
  let bestName: string | undefined;
  for (const v of versions) {
    const n = glibcNumber(v);
    if (n === undefined) continue;
    const newer = best === undefined || n[0] > best[0] || (n[0] === best[0] && (n[1] > best[1] || (n[1] === best[1] && n[2] > best[2])));
    if (newer) {
      best = n;
      bestName = v.slice('GLIBC_'.length);
    }
  }
  return bestName;
}

class ImageLibraries {
  private readonly cache = new Map<string, Promise<ElfInfo | undefined>>();
  constructor(readonly rootfs: string) {}

  /** The image's copy of `soname`, parsed; undefined when the image has none. */
  info(soname: string): Promise<ElfInfo | undefined> {
    let found = this.cache.get(soname);
    if (found === undefined) {
      found = this.load(soname);
      this.cache.set(soname, found);
    }
    return found;
  }

  private async load(soname: string): Promise<ElfInfo | undefined> {
    for (const dir of IMAGE_LIB_DIRS) {
      const real = await resolveInRootfs(this.rootfs, path.posix.join(dir, soname));
      if (real === undefined) continue;
      const stat = await fs.stat(real).catch(() => undefined);
      if (!stat?.isFile()) continue;
      try {
        return readElfInfo(await fs.readFile(real));
      } catch (error) {
        throw new EnvlockError('ABI_INCOMPATIBLE', `The image's ${soname} (${path.posix.join(dir, soname)}) is not a valid ELF library.`, {
          cause: error,
          hint: 'Pull the image again (`envlock pull`); if it persists, the image itself is damaged.',
        });
      }
    }
    return undefined;
  }

  /** "musl libc" or "no C library", for an image without glibc. */
  async describeMissingGlibc(): Promise<string> {
    for (const dir of ['/lib', '/usr/lib']) {
      const real = await resolveInRootfs(this.rootfs, dir);
      if (real === undefined) continue;
      const names = await fs.readdir(real).catch(() => [] as string[]);
      if (names.some((n) => n.startsWith('ld-musl-'))) return 'the image uses musl libc, not glibc';
    }
    return 'the image has no glibc (it is static or distroless)';
  }
}

/** Numbered versions in numeric order first (GLIBC_2.17 < GLIBC_2.34), then named ones in code-point order. */
function versionOrder(a: string, b: string): number {
  const na = glibcNumber(a);
  const nb = glibcNumber(b);
  if (na !== undefined && nb !== undefined) return na[0] - nb[0] || na[1] - nb[1] || na[2] - nb[2];
  if (na !== undefined) return -1;
  if (nb !== undefined) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function incompatible(message: string, hint: string, details: Record<string, unknown>): never {
  throw new EnvlockError('ABI_INCOMPATIBLE', message, { hint, details });
}

const SHARED_OBJECT = /\.so(\.[0-9]+)*$/;
/** How far into a mounted directory libraries are looked for, and how many entries at most. */
const DIR_DEPTH = 4;
const DIR_ENTRIES = 20_000;

function isElf(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const magic = Buffer.alloc(4);
    return readSync(fd, magic, 0, 4, 0) === 4 && magic.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * The ELF shared objects in a mounted host directory (issue 12.7: a CDI spec may mount a whole
 * folder of driver libraries): regular files named like shared objects, symlinks not followed,
 * linker scripts and other non-ELF files skipped.
 */
function librariesInDir(dir: string, found: AbiLibrary[]): void {
  let seen = 0;
  const walk = (at: string, depth: number): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(at, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (++seen > DIR_ENTRIES) return;
      const where = path.join(at, entry.name);
      if (entry.isDirectory() && depth < DIR_DEPTH) walk(where, depth + 1);
      else if (entry.isFile() && SHARED_OBJECT.test(entry.name) && isElf(where) && !found.some((f) => f.hostPath === where)) found.push({ hostPath: where, soname: entry.name });
    }
  };
  walk(dir, 1);
}

/**
 * Every ELF library a plan puts into the container: the injected libraries, CDI mounts of
 * shared objects (NVIDIA specs mount driver libraries straight into /usr/lib/…), and the shared
 * objects inside mounted directories.
 */
export function librariesInPlan(plan: Pick<InjectionPlan, 'libraries' | 'mounts'>): AbiLibrary[] {
  const found: AbiLibrary[] = plan.libraries.map((l) => ({ hostPath: l.hostPath, soname: l.soname }));
  for (const m of plan.mounts) {
    const name = path.posix.basename(m.containerPath);
    let directory = false;
    try {
      directory = statSync(m.hostPath).isDirectory();
    } catch {
      // a missing source is the mount's own error, reported where it is made
    }
    if (directory) librariesInDir(m.hostPath, found);
    else if (SHARED_OBJECT.test(name) && !found.some((f) => f.hostPath === m.hostPath)) found.push({ hostPath: m.hostPath, soname: name });
  }
  return found;
}

/** Throws ABI_INCOMPATIBLE (exit 4) unless every library can be loaded by the image's dynamic linker. */
export async function checkAbi(libraries: AbiLibrary[], imageRootfs: string): Promise<AbiReport> {
  const image = new ImageLibraries(imageRootfs);
  const libc = await image.info('libc.so.6');
  const report: AbiReport = {};
  if (libc !== undefined) {
    report.machine = machineName(libc.machine);
    const version = highestGlibc(libc.versionDefs);
    if (version !== undefined) report.glibcVersion = version;
  }
  const injected = new Map<string, ElfInfo>();
  const parsed: { lib: AbiLibrary; name: string; info: ElfInfo }[] = [];
  for (const lib of libraries) {
    const name = lib.soname ?? path.basename(lib.hostPath);
    let info: ElfInfo;
    try {
      info = readElfInfo(await fs.readFile(lib.hostPath));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      incompatible(`Host library ${name} (${lib.hostPath}) cannot be read as an ELF library: ${reason}.`, 'Remove it from the host request, or ask the site administrator to repair it.', { library: lib.hostPath });
    }
    parsed.push({ lib, name, info });
    injected.set(name, info);
    if (info.soname !== undefined) injected.set(info.soname, info);
  }

  for (const { lib, name, info } of parsed) {
    if (libc !== undefined && (info.machine !== libc.machine || info.class !== libc.class)) {
      const what = (i: ElfInfo): string => (i.class === 32 && i.machine === libc.machine ? `${machineName(i.machine)} (32-bit)` : machineName(i.machine));
      incompatible(`Host library ${name} is ${what(info)} but the image is ${what(libc)}.`, 'Inject only libraries built for the image\'s architecture, or use an image for this host\'s architecture.', {
        library: lib.hostPath,
      });
    }
    const missingGlibc: string[] = [];
    const missingOther: string[] = [];
    for (const need of info.versionNeeds) {
      const glibc = isGlibcLibrary(need.file);
      if (!glibc && !ALSO_CHECKED.has(need.file)) continue;
      // A dependency that is injected alongside answers for itself (unless it is glibc, which never is).
      const provider = !glibc && injected.has(need.file) ? injected.get(need.file) : await image.info(need.file);
      if (provider === undefined && !glibc) continue;
      const defined = new Set(provider?.versionDefs ?? []);
      const missing = need.versions.filter((v) => !defined.has(v));
      if (glibc) missingGlibc.push(...missing.filter((m) => !missingGlibc.includes(m)));
      else missingOther.push(...missing.map((m) => `${m} (${need.file})`));
    }
    missingGlibc.sort(versionOrder);
    if (missingGlibc.length > 0 && libc === undefined) {
      incompatible(`Host library ${name} needs glibc (${missingGlibc.join(', ')}), but ${await image.describeMissingGlibc()}.`, 'Use a glibc-based image (Debian, Ubuntu, Rocky, …) to inject host libraries, or drop the host request.', {
        library: lib.hostPath,
        missing: missingGlibc,
      });
    }
    if (missingGlibc.length > 0 || missingOther.length > 0) {
      const parts: string[] = [];
      const imageGlibc = report.glibcVersion === undefined ? 'glibc' : `glibc ${report.glibcVersion}`;
      if (missingGlibc.length > 0) parts.push(`${missingGlibc.join(', ')}, which the image's ${imageGlibc} does not provide`);
      if (missingOther.length > 0) parts.push(`${missingOther.join(', ')}, which the image's runtime libraries do not provide`);
      const wanted = highestGlibc(missingGlibc);
      incompatible(
        `Host library ${name} needs ${parts.join('; and ')}.`,
        wanted === undefined
          ? 'Use an image with newer runtime libraries, or drop this host library from the request.'
          : `Use an image with glibc ${wanted} or newer, or drop the host request (gpu/mpi/libraries) that brings in ${name}.`,
        { library: lib.hostPath, missing: [...missingGlibc, ...missingOther], imageGlibc: report.glibcVersion },
      );
    }
  }
  return report;
}
