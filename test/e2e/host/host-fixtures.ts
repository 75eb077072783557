// Stand-ins for host integration end to end: gcc-built libraries and programs, a glibc image made
// from this host's own loader and libc (plus busybox), and a loader cache over a temp directory.

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage, busyboxLayer, pushImage } from '../../helpers/image-builder.js';
import type { TarEntry } from '../../helpers/tar-writer.js';

/** Where Debian keeps glibc on x86-64; the image uses the same layout. */
const MULTIARCH = 'lib/x86_64-linux-gnu';

/** Runs gcc; on failure the compiler's own message is in the thrown error. */
export function gcc(args: string[]): void {
  execFileSync('gcc', args, { stdio: 'pipe' });
}

/** Compiles C `source` into a shared library `dir/file` with the given soname. */
export function compileLibrary(dir: string, file: string, soname: string | undefined, source: string, extra: string[] = []): string {
  const src = join(dir, `${file}.c`);
  writeFileSync(src, source);
  const out = join(dir, file);
  gcc(['-shared', '-fPIC', '-O1', '-o', out, src, ...(soname === undefined ? [] : [`-Wl,-soname,${soname}`]), ...extra]);
  return out;
}

/** Compiles a C program (dynamically linked against this host's glibc). */
export function compileProgram(dir: string, name: string, source: string, extra: string[] = []): string {
  const src = join(dir, `${name}.c`);
  writeFileSync(src, source);
  const out = join(dir, name);
  gcc(['-O1', '-o', out, src, ...extra]);
  return out;
}

/** `dlcall LIB SYMBOL`: dlopens LIB (a soname or a path) and prints what `int SYMBOL(void)` returns. */
export const DLCALL_SOURCE = `#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: dlcall LIB SYMBOL\\n"); return 2; }
  void *handle = dlopen(argv[1], RTLD_NOW);
  if (handle == NULL) { printf("dlopen failed: %s\\n", dlerror()); return 3; }
  int (*fn)(void) = (int (*)(void))dlsym(handle, argv[2]);
  if (fn == NULL) { printf("dlsym failed: %s\\n", dlerror()); return 4; }
  printf("%s %s -> %d\\n", argv[1], argv[2], fn());
  return 0;
}
`;

/** The symbol versions a library needs, as `objdump -T` shows them (e.g. "GLIBC_2.34"). */
export function neededVersions(file: string): string[] {
  const dump = execFileSync('objdump', ['-T', file], { encoding: 'utf8' });
  return [...new Set([...dump.matchAll(/\(?(GLIBC_[0-9A-Z_.]+)\)?\s/g)].map((m) => m[1]!))].sort();
}

/**
 * The files of this host's glibc the image needs to run a gcc-built program: the loader (as
 * /lib64/ld-linux-x86-64.so.2, the PT_INTERP of x86-64 binaries) and libc.so.6; libdl and libm
 * only for programs built against an older glibc, so they are added when present.
 */
export function hostGlibcEntries(): TarEntry[] {
  const entries: TarEntry[] = [
    { path: 'lib/', type: 'dir' },
    { path: `${MULTIARCH}/`, type: 'dir' },
    { path: 'lib64/', type: 'dir' },
    { path: `${MULTIARCH}/ld-linux-x86-64.so.2`, type: 'file', mode: 0o755, content: readFileSync('/lib64/ld-linux-x86-64.so.2') },
    { path: 'lib64/ld-linux-x86-64.so.2', type: 'symlink', linkTarget: `../${MULTIARCH}/ld-linux-x86-64.so.2` },
    { path: `${MULTIARCH}/libc.so.6`, type: 'file', mode: 0o755, content: readFileSync(`/${MULTIARCH}/libc.so.6`) },
  ];
  for (const name of ['libdl.so.2', 'libm.so.6']) {
    try {
      entries.push({ path: `${MULTIARCH}/${name}`, type: 'file', mode: 0o755, content: readFileSync(`/${MULTIARCH}/${name}`) });
    } catch {
      // Not every glibc ships them as separate files any more (2.34 merged libdl into libc).
    }
  }
  return entries;
}

/** Extra busybox applets the host tests use, linked like the standard ones. */
const EXTRA_APPLETS = ['cmp', 'md5sum'].map((name): TarEntry => ({ path: `usr/bin/${name}`, type: 'symlink', linkTarget: '../../bin/busybox' }));

/** Programs placed in /usr/local/bin of the image. */
export type ImagePrograms = Record<string, string>;

function programEntries(programs: ImagePrograms): TarEntry[] {
  return [
    { path: 'usr/local/', type: 'dir' },
    { path: 'usr/local/bin/', type: 'dir' },
    ...Object.entries(programs).map(([name, file]): TarEntry => ({ path: `usr/local/bin/${name}`, type: 'file', mode: 0o755, content: readFileSync(file) })),
  ];
}

/** Builds and pushes a linux/amd64 image: busybox, extra entries (a C library), and programs. */
export async function pushHostImage(registry: string, repo: string, libc: TarEntry[], programs: ImagePrograms = {}): Promise<string> {
  const image = buildImage({
    layers: [busyboxLayer([...EXTRA_APPLETS, ...libc, ...programEntries(programs)])],
    platform: { os: 'linux', architecture: 'amd64' },
    config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin'] },
    createdBy: `envlock host e2e ${repo}`,
  });
  return pushImage(registry, repo, 'latest', image);
}

/** The glibc versions an old (2.17) x86-64 glibc defines, oldest first. */
export const OLD_GLIBC_VERSIONS = ['2.2.5', '2.2.6', '2.3', '2.3.2', '2.3.3', '2.3.4', '2.4', '2.5', '2.6', '2.7', '2.8', '2.9', '2.10', '2.11', '2.12', '2.13', '2.14', '2.15', '2.16', '2.17'];

/**
 * A stand-in for glibc 2.17's libc.so.6: a tiny library whose version definitions (verdef) are
 * exactly GLIBC_2.2.5 … GLIBC_2.17 and GLIBC_PRIVATE, made with a linker version script.
 */
export function oldGlibcEntries(dir: string): TarEntry[] {
  const nodes = [...OLD_GLIBC_VERSIONS.map((v) => `GLIBC_${v}`), 'GLIBC_PRIVATE'];
  const script = join(dir, 'old-libc.map');
  writeFileSync(script, nodes.map((n, i) => `${n} { global: sym${i}; ${i === nodes.length - 1 ? 'local: *; ' : ''}};`).join('\n'));
  const lib = compileLibrary(dir, 'libc-2.17.so', 'libc.so.6', nodes.map((_, i) => `int sym${i}(void){return ${i};}`).join('\n'), ['-nostdlib', `-Wl,--version-script=${script}`]);
  return [
    { path: 'lib/', type: 'dir' },
    { path: `${MULTIARCH}/`, type: 'dir' },
    { path: `${MULTIARCH}/libc-2.17.so`, type: 'file', mode: 0o755, content: readFileSync(lib) },
    { path: `${MULTIARCH}/libc.so.6`, type: 'symlink', linkTarget: 'libc-2.17.so' },
  ];
}

/** Builds a real ld.so.cache over `libDirs` with the host's ldconfig (no links are changed: -X). */
export function buildLdCache(dir: string, libDirs: string[]): string {
  const conf = join(dir, 'ld.so.conf');
  const cache = join(dir, 'ld.so.cache');
  writeFileSync(conf, `${libDirs.join('\n')}\n`);
  execFileSync('/sbin/ldconfig', ['-X', '-C', cache, '-f', conf], { stdio: 'pipe' });
  return cache;
}

/** A directory everyone can read and traverse, so the CLI running as nobody sees the fixtures. */
export function publicDir(parent: string, name: string): string {
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  return dir;
}

/** Makes a fixture tree readable by everyone (mkdtemp creates 0700 directories). */
export function makeReadable(dir: string): void {
  execFileSync('chmod', ['-R', 'a+rX', dir]);
}

/** ln -s TARGET LINK, relative targets as given. */
export function link(target: string, path: string): void {
  symlinkSync(target, path);
}
