// Builds the injection plan for one environment's `host:` request: CDI devices first, then
// GPU discovery for vendors no CDI device covered, host MPI, and extra libraries — each with
// its DT_NEEDED closure — as plain data the launcher applies and `doctor` / --dry-run show.

import fs from 'node:fs/promises';
import path from 'node:path';
import type { HostRequest } from '../declaration/model.js';
import { EnvlockError } from '../errors.js';
import { didYouMean } from '../suggest.js';
import { translateHooks } from './cdi/hooks.js';
import { cdiSpecDirs, loadCdiRegistry } from './cdi/load.js';
import { resolveDevices } from './cdi/resolve.js';
import { readElfInfo } from './elf.js';
import { detectGpuVendors, discoverAmd, discoverNvidia, type GpuVendor } from './gpu-discovery.js';
import { LdCache, type LdconfigRunner } from './ldconfig.js';
import { libraryClosure } from './library-closure.js';
import { discoverMpi } from './mpi-discovery.js';
import { emptyPlan, HOST_BIN_DIR, HOST_LIB_DIR, type InjectionPlan, type PlannedLibrary, type PlannedMount, type PlannedSymlink } from './plan-types.js';

export interface PlanOptions {
  /** The host environment (ENVLOCK_CDI_DIRS, ENVLOCK_LDCACHE, PATH, LD_LIBRARY_PATH are read). */
  env: Readonly<Record<string, string | undefined>>;
  /**
   * Root of the host filesystem; '/' except in tests. It prefixes /proc, /dev, PATH lookups, the
   * default CDI directories and absolute `libraries`; paths inside CDI specs and the loader cache
   * are real host paths already and are used as they are.
   */
  hostRoot?: string;
  /** CDI spec directories, lowest priority first; default: /etc/cdi, /var/run/cdi, then ENVLOCK_CDI_DIRS. */
  cdiDirs?: string[];
  /** Site configuration may allow CDI hooks envlock cannot translate; they are then listed to run. */
  allowHooks?: boolean;
  ldconfigRunner?: LdconfigRunner;
  /** A loader cache file other than the host's /etc/ld.so.cache (`ldconfig -p -C FILE`). */
  ldCacheFile?: string;
  /** Node arch name of the libraries wanted; default this machine's. */
  arch?: string;
}

/**
 * ENVLOCK_LDCACHE names a loader cache to read instead of /etc/ld.so.cache: a site that keeps its
 * MPI or driver libraries out of the system cache builds one with `ldconfig -C FILE -f CONF`.
 * Relative paths are ignored, like relative ENVLOCK_CDI_DIRS entries.
 */
async function siteLdCache(env: PlanOptions['env']): Promise<string | undefined> {
  const file = env.ENVLOCK_LDCACHE;
  if (file === undefined || !path.isAbsolute(file)) return undefined;
  const stat = await fs.stat(file).catch(() => undefined);
  if (!stat?.isFile()) {
    throw new EnvlockError('CONFIG_INVALID', `The loader cache ${file} that ENVLOCK_LDCACHE names is not a file.`, {
      hint: 'Build it with `ldconfig -C FILE -f CONF`, or unset ENVLOCK_LDCACHE to use the host\'s own cache.',
      details: { file },
    });
  }
  return file;
}

async function loadLdCache(o: PlanOptions): Promise<LdCache> {
  return LdCache.load({ runner: o.ldconfigRunner, cacheFile: o.ldCacheFile ?? (await siteLdCache(o.env)), arch: o.arch });
}

const VENDOR_DOMAIN: Record<GpuVendor, string> = { nvidia: 'nvidia.com', amd: 'amd.com' };

class PlanBuilder {
  readonly plan = emptyPlan();
  private cache: Promise<LdCache> | undefined;
  constructor(readonly options: PlanOptions) {}

  ldCache(): Promise<LdCache> {
    this.cache ??= loadLdCache(this.options);
    return this.cache;
  }

  source(s: string): void {
    if (!this.plan.sources.includes(s)) this.plan.sources.push(s);
  }

  addLibraries(libraries: PlannedLibrary[]): void {
    for (const lib of libraries) {
      const same = this.plan.libraries.find((l) => l.soname === lib.soname);
      if (same === undefined) this.plan.libraries.push(lib);
      else if (same.hostPath !== lib.hostPath) {
        this.plan.notes.push(`${lib.soname} from ${lib.hostPath} (${lib.source}) is skipped: ${same.hostPath} (${same.source}) already provides it.`);
      }
    }
  }

  addMounts(mounts: PlannedMount[]): void {
    for (const mount of mounts) {
      const same = this.plan.mounts.find((m) => m.containerPath === mount.containerPath);
      if (same === undefined) this.plan.mounts.push(mount);
      else if (same.hostPath !== mount.hostPath) this.plan.notes.push(`${mount.containerPath} from ${mount.hostPath} is skipped: ${same.source} already mounts ${same.hostPath} there.`);
    }
  }

  prepend(variable: string, dir: string): void {
    const list = (this.plan.prependPath[variable] ??= []);
    if (!list.includes(dir)) list.push(dir);
  }
}

/** Applies the requested CDI devices; returns the vendor domains they cover. */
async function planCdi(b: PlanBuilder, devices: string[]): Promise<Set<string>> {
  const o = b.options;
  const registry = await loadCdiRegistry(o.cdiDirs ?? cdiSpecDirs(o.env, o.hostRoot));
  const edits = resolveDevices(devices, registry);
  const p = b.plan;
  for (const e of edits.env) {
    p.env[e.value.name] = e.value.value;
    b.source(e.origin.file);
  }
  for (const { value: n, origin } of edits.deviceNodes) {
    p.deviceNodes.push({ hostPath: n.hostPath, containerPath: n.path, ...(n.permissions === undefined ? {} : { permissions: n.permissions }), source: `${origin.owner} in ${origin.file}` });
    b.source(origin.file);
  }
  b.addMounts(edits.mounts.map(({ value: m, origin }) => ({ hostPath: m.hostPath, containerPath: m.containerPath, options: m.options, source: `${origin.owner} in ${origin.file}` })));
  for (const m of edits.mounts) b.source(m.origin.file);
  const hooks = translateHooks(edits.hooks, { allowHooks: o.allowHooks });
  p.symlinks.push(...hooks.symlinks, ...(await sonameLinks(p.mounts, [...hooks.ldcacheFolders, ...hooks.sonameFolders], hooks.symlinks)));
  p.ldcacheFolders.push(...hooks.ldcacheFolders);
  p.ldcache = hooks.ldcacheFolders.length > 0;
  p.hooksToRun.push(...hooks.hooksToRun);
  p.notes.push(...edits.notes, ...hooks.notes);
  if (edits.additionalGids.length > 0) {
    p.additionalGids.push(...edits.additionalGids);
    p.notes.push(`additionalGids ${edits.additionalGids.join(', ')} are kept only where the caller already has those groups (an unprivileged user namespace cannot add groups).`);
  }
  for (const h of edits.hooks) b.source(h.origin.file);
  return new Set(edits.devices.map((d) => d.split('/')[0]!));
}

/**
 * The links ldconfig makes when an update-ldcache or create-soname-symlinks hook runs it over
 * `folders`: SONAME -> file for each mounted library there (libcuda.so.1 -> libcuda.so.550.54.15).
 * NVIDIA's generated specs mount only the versioned files and rely on them; the root is read-only,
 * so they become plan symlinks, which the launcher applies as binds of the same file.
 */
async function sonameLinks(mounts: PlannedMount[], folders: string[], requested: PlannedSymlink[]): Promise<PlannedSymlink[]> {
  const links: PlannedSymlink[] = [];
  for (const mount of mounts) {
    const dir = path.posix.dirname(mount.containerPath);
    const name = path.posix.basename(mount.containerPath);
    if (!folders.includes(dir) || !/\.so(\.[0-9]+)*$/.test(name)) continue;
    const soname = await fs.readFile(mount.hostPath).then((bytes) => readElfInfo(bytes).soname, () => undefined);
    if (soname === undefined || soname === name || soname.includes('/')) continue;
    const link = path.posix.join(dir, soname);
    // A mount or a create-symlinks hook that already provides the name wins.
    if (mounts.some((m) => m.containerPath === link) || [...requested, ...links].some((l) => l.link === link)) continue;
    links.push({ target: name, link, source: `update-ldcache (soname of ${name}), ${mount.source}` });
  }
  return links;
}

async function planGpu(b: PlanBuilder, gpu: HostRequest['gpu'], cdiVendors: Set<string>): Promise<void> {
  const o = b.options;
  const vendors: GpuVendor[] = gpu === 'none' ? [] : gpu === 'auto' ? await detectGpuVendors(o.hostRoot) : [gpu];
  if (gpu === 'auto' && vendors.length === 0) b.plan.notes.push('gpu: auto found no NVIDIA or AMD GPU driver on this host; nothing GPU-related is injected.');
  for (const vendor of vendors) {
    if (cdiVendors.has(VENDOR_DOMAIN[vendor])) {
      b.plan.notes.push(`${vendor} GPU discovery is skipped: CDI devices of ${VENDOR_DOMAIN[vendor]} were requested and describe the driver.`);
      continue;
    }
    const discovery = { hostRoot: o.hostRoot, env: o.env, cache: await b.ldCache() };
    const found = vendor === 'nvidia' ? await discoverNvidia(discovery) : await discoverAmd(discovery);
    b.addLibraries(found.libraries);
    b.plan.deviceNodes.push(...found.deviceNodes);
    b.addMounts(found.mounts);
    b.plan.symlinks.push(...found.symlinks);
    b.plan.notes.push(...found.notes);
    b.source(found.source);
  }
}

async function planLibraries(b: PlanBuilder, requested: string[]): Promise<void> {
  const o = b.options;
  const cache = await b.ldCache();
  const roots: PlannedLibrary[] = [];
  for (const item of requested) {
    if (item.startsWith('/')) {
      const real = await fs.realpath(path.join(o.hostRoot ?? '/', item)).catch(() => undefined);
      if (real === undefined) {
        throw new EnvlockError('HOST_LIBRARY_NOT_FOUND', `Host library ${item} does not exist.`, { hint: 'Fix the path under `host.libraries` in the declaration.' });
      }
      // The loader looks for the DT_SONAME (libfoo.so.1), not the file name (libfoo.so.1.2.3).
      const soname = await fs.readFile(real).then((b) => readElfInfo(b).soname, () => undefined);
      roots.push({ hostPath: real, soname: soname ?? path.basename(item), source: `libraries: ${item}` });
      continue;
    }
    const entry = cache.find(item);
    if (entry === undefined) {
      throw new EnvlockError('HOST_LIBRARY_NOT_FOUND', `Host library ${item} is not in this host's loader cache.${didYouMean(item, cache.sonames())}`, {
        hint: 'Give its absolute path under `host.libraries`, or ask the site administrator to register it with ldconfig.',
      });
    }
    roots.push({ hostPath: await fs.realpath(entry.path), soname: item, source: `libraries: ${item}` });
  }
  const closure = await libraryClosure(roots, { cache, libraryPath: o.env.LD_LIBRARY_PATH });
  b.addLibraries(closure.libraries);
  b.plan.notes.push(...closure.notes);
  b.source('libraries (host loader cache)');
}

/** The plan for a host request; throws CDI_*, GPU_UNAVAILABLE or HOST_LIBRARY_NOT_FOUND. */
export async function planInjection(host: HostRequest, options: PlanOptions): Promise<InjectionPlan> {
  const b = new PlanBuilder(options);
  const cdiVendors = host.devices.length > 0 ? await planCdi(b, host.devices) : new Set<string>();
  await planGpu(b, host.gpu, cdiVendors);
  if (host.mpi === 'host') {
    const mpi = await discoverMpi({ cache: await b.ldCache(), libraryPath: options.env.LD_LIBRARY_PATH });
    b.addLibraries(mpi.libraries);
    b.addMounts(mpi.mounts);
    Object.assign(b.plan.env, mpi.env);
    b.plan.notes.push(...mpi.notes);
    b.source(mpi.source);
  }
  if (host.libraries.length > 0) await planLibraries(b, host.libraries);
  if (b.plan.libraries.length > 0) b.prepend('LD_LIBRARY_PATH', HOST_LIB_DIR);
  // The root is read-only, so the update-ldcache folders go on the loader path instead of into ld.so.cache.
  for (const folder of b.plan.ldcacheFolders) b.prepend('LD_LIBRARY_PATH', folder);
  if (b.plan.mounts.some((m) => m.containerPath.startsWith(`${HOST_BIN_DIR}/`))) b.prepend('PATH', HOST_BIN_DIR);
  return b.plan;
}
