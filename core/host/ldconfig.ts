// The host's dynamic-linker cache as data: runs `ldconfig -p` (ldconfig(8)) through an
// injectable runner and parses its lines "soname (libc6,x86-64, OS ABI: …) => /path".

import { execFile } from 'node:child_process';
import os from 'node:os';
import { EnvlockError } from '../errors.js';

export interface LdCacheEntry {
  soname: string;
  /** The flags inside the parentheses, e.g. ['libc6', 'x86-64']; an "OS ABI: …" part is dropped. */
  flags: string[];
  path: string;
}

/** Runs ldconfig with these arguments and resolves with its stdout. Tests pass a fake. */
export type LdconfigRunner = (args: string[]) => Promise<string>;

/** Where ldconfig lives on glibc systems; never taken from PATH (an image or user could shadow it). */
export const LDCONFIG_PATH = '/sbin/ldconfig';

/** Runs the host's ldconfig with an empty environment (pitfalls 4.1: never leak env into host helpers). */
export const defaultLdconfigRunner: LdconfigRunner = (args) =>
  new Promise((resolve, reject) => {
    execFile(LDCONFIG_PATH, args, { env: {}, maxBuffer: 64 * 1024 * 1024, timeout: 20_000 }, (error, stdout) => {
      if (error) reject(error);
      else resolve(stdout);
    });
  });

const LINE = /^\s+(\S+)\s+\(([^)]*)\)\s+=>\s+(\S.*)$/;

/** Parses `ldconfig -p` output; header and trailer lines are skipped. */
export function parseLdconfigOutput(text: string): LdCacheEntry[] {
  const entries: LdCacheEntry[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (m === null) continue;
    const flags = m[2]!
      .split(',')
      .map((f) => f.trim())
      .filter((f) => f !== '' && !f.startsWith('OS ABI:') && !f.startsWith('hwcap:'));
    entries.push({ soname: m[1]!, flags, path: m[3]!.trim() });
  }
  return entries;
}

/** The ldconfig arch flag that marks libraries for a Node `os.arch()` value (glibc elf/cache.c). */
export function archFlagFor(arch: string): string | undefined {
  switch (arch) {
    case 'x64':
      return 'x86-64';
    case 'arm64':
      return 'AArch64';
    case 'ppc64':
      return '64bit';
    case 's390x':
      return '64bit';
    case 'riscv64':
      return 'double-float';
    default:
      return undefined;
  }
}

export interface LdCacheOptions {
  runner?: LdconfigRunner;
  /** A cache file other than /etc/ld.so.cache (`ldconfig -p -C FILE`). */
  cacheFile?: string;
  /** Node arch name used to keep only native entries; defaults to this machine's. */
  arch?: string;
}

/** The host's ldconfig cache, filtered to this machine's ABI, in cache order. */
export class LdCache {
  constructor(readonly entries: LdCacheEntry[]) {}

  static async load(options: LdCacheOptions = {}): Promise<LdCache> {
    const runner = options.runner ?? defaultLdconfigRunner;
    const args = options.cacheFile === undefined ? ['-p'] : ['-p', '-C', options.cacheFile];
    const flag = archFlagFor(options.arch ?? os.arch());
    let output: string;
    try {
      output = await runner(args);
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      throw new EnvlockError('IO', `Cannot read the host's loader cache with \`${LDCONFIG_PATH} ${args.join(' ')}\` (${reason}).`, {
        cause: error,
        hint: 'Check that glibc\'s ldconfig is installed on this host, or drop the host request (gpu/mpi/libraries) that needs it.',
      });
    }
    const all = parseLdconfigOutput(output);
    // On x86-64 a 32-bit entry carries only "libc6"; keep entries carrying the native flag when known.
    const native = flag === undefined ? all : all.filter((e) => e.flags.includes(flag));
    return new LdCache(native);
  }

  /** The first entry with exactly this soname (ldconfig lists the preferred one first). */
  find(soname: string): LdCacheEntry | undefined {
    return this.entries.find((e) => e.soname === soname);
  }

  /** Entries whose soname is `stem` or `stem.<suffix>` (libcuda.so → libcuda.so.1, libcuda.so). */
  findByStem(stem: string): LdCacheEntry[] {
    return this.entries.filter((e) => e.soname === stem || e.soname.startsWith(`${stem}.`));
  }

  sonames(): string[] {
    return [...new Set(this.entries.map((e) => e.soname))];
  }
}
