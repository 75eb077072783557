import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../../core/errors.js';
import { checkAbi, highestGlibc } from '../../../core/host/abi-check.js';
import { resolveInRootfs } from '../../../core/host/rootfs-resolve.js';
import { buildLibrary, caught, removeDir, tempDir } from './helpers.js';

/** The version nodes an old (2.17) x86-64 glibc defines. */
const OLD_GLIBC = ['2.2.5', '2.2.6', '2.3', '2.3.2', '2.3.3', '2.3.4', '2.4', '2.5', '2.6', '2.7', '2.8', '2.9', '2.10', '2.11', '2.12', '2.13', '2.14', '2.15', '2.16', '2.17'];

let dir: string;
let oldImage: string;
let muslImage: string;
let newLib: string;
let oldLib: string;
let plainLib: string;

beforeAll(async () => {
  dir = await tempDir();
  // A fake glibc 2.17 image: libc.so.6 defines GLIBC_2.2.5 … GLIBC_2.17 and GLIBC_PRIVATE only.
  oldImage = path.join(dir, 'old-image');
  const libdir = path.join(oldImage, 'usr/lib/x86_64-linux-gnu');
  await fs.mkdir(libdir, { recursive: true });
  const nodes = [...OLD_GLIBC.map((v) => `GLIBC_${v}`), 'GLIBC_PRIVATE'];
  const script = nodes.map((n, i) => `${n} { global: sym${i}; ${i === nodes.length - 1 ? 'local: *; ' : ''}};`).join('\n');
  await fs.writeFile(path.join(dir, 'libc.map'), script);
  buildLibrary(libdir, {
    file: 'libc-2.17.so',
    soname: 'libc.so.6',
    source: nodes.map((_, i) => `int sym${i}(void){return ${i};}`).join('\n'),
    args: ['-nostdlib', `-Wl,--version-script=${path.join(dir, 'libc.map')}`],
  });
  await fs.symlink('libc-2.17.so', path.join(libdir, 'libc.so.6'));
  // /lib → /usr/lib as an ABSOLUTE link: it must resolve inside the image, never to the host's /usr/lib.
  await fs.symlink('/usr/lib', path.join(oldImage, 'lib'));

  muslImage = path.join(dir, 'musl-image');
  await fs.mkdir(path.join(muslImage, 'lib'), { recursive: true });
  await fs.writeFile(path.join(muslImage, 'lib/ld-musl-x86_64.so.1'), '');

  const host = path.join(dir, 'host');
  await fs.mkdir(host);
  // pthread_create moved into libc in glibc 2.34 and is versioned GLIBC_2.34 on this host.
  newLib = buildLibrary(host, {
    file: 'libnew.so.1',
    soname: 'libnew.so.1',
    source: '#include <pthread.h>\nstatic void*f(void*a){return a;}\nint go(void){pthread_t t; return pthread_create(&t,0,f,0);}\n',
  });
  oldLib = buildLibrary(host, { file: 'libold.so.1', soname: 'libold.so.1', source: '#include <stdio.h>\nint hi(void){return puts("hi");}\n' });
  plainLib = buildLibrary(host, { file: 'libplain.so', source: 'int plain(int x){return x+1;}\n', args: ['-nostdlib'] });
});
afterAll(async () => removeDir(dir));

describe('resolveInRootfs', () => {
  it('follows absolute and relative links inside the image root', async () => {
    expect(await resolveInRootfs(oldImage, '/lib/x86_64-linux-gnu/libc.so.6')).toBe(path.join(oldImage, 'usr/lib/x86_64-linux-gnu/libc-2.17.so'));
  });

  it('keeps ".." at the image root and returns undefined for missing paths and link loops', async () => {
    expect(await resolveInRootfs(oldImage, '/../../../usr/lib')).toBe(path.join(oldImage, 'usr/lib'));
    expect(await resolveInRootfs(oldImage, '/nonexistent/libc.so.6')).toBeUndefined();
    await fs.symlink('loop-b', path.join(oldImage, 'loop-a'));
    await fs.symlink('loop-a', path.join(oldImage, 'loop-b'));
    expect(await resolveInRootfs(oldImage, '/loop-a/x')).toBeUndefined();
  });
});

describe('checkAbi', () => {
  it('refuses a host library that needs a newer glibc than the image, naming versions and the image glibc', async () => {
    const error = await caught(checkAbi([{ hostPath: newLib, soname: 'libnew.so.1' }], oldImage));
    expect(error.code).toBe('ABI_INCOMPATIBLE');
    expect(error.exitCode).toBe(EXIT.HOST_UNSUPPORTED);
    expect(error.exitCode).toBe(4);
    expect(error.message).toBe("Host library libnew.so.1 needs GLIBC_2.34, which the image's glibc 2.17 does not provide.");
    expect(error.hint).toBe('Use an image with glibc 2.34 or newer, or drop the host request (gpu/mpi/libraries) that brings in libnew.so.1.');
  });

  it('compares version names as sets, so GLIBC_ABI_DT_RELR is reported like a numbered version', async () => {
    // A stand-in for a newer host glibc that defines GLIBC_ABI_DT_RELR (glibc 2.36), and a library linked against it.
    const newGlibc = path.join(dir, 'new-glibc');
    await fs.mkdir(newGlibc, { recursive: true });
    await fs.writeFile(path.join(dir, 'new.map'), 'GLIBC_2.2.5 { global: a; };\nGLIBC_2.34 { global: b; } GLIBC_2.2.5;\nGLIBC_ABI_DT_RELR { global: c; local: *; };\n');
    buildLibrary(newGlibc, { file: 'libc.so.6', soname: 'libc.so.6', source: 'int a(void){return 1;} int b(void){return 2;} int c(void){return 3;}\n', args: ['-nostdlib', `-Wl,--version-script=${path.join(dir, 'new.map')}`] });
    const lib = buildLibrary(path.join(dir, 'host'), {
      file: 'libcuda.so.550.54.15',
      soname: 'libcuda.so.1',
      source: 'int a(void); int b(void); int c(void);\nint cuInit(void){return a()+b()+c();}\n',
      args: ['-nostdlib', path.join(newGlibc, 'libc.so.6')],
    });
    const error = await caught(checkAbi([{ hostPath: lib, soname: 'libcuda.so.1' }], oldImage));
    expect(error.code).toBe('ABI_INCOMPATIBLE');
    expect(error.message).toBe("Host library libcuda.so.1 needs GLIBC_2.34, GLIBC_ABI_DT_RELR, which the image's glibc 2.17 does not provide.");
    expect(error.details).toMatchObject({ missing: ['GLIBC_2.34', 'GLIBC_ABI_DT_RELR'], imageGlibc: '2.17' });
  });

  it('accepts a library that needs only versions the image defines, and reports the image glibc', async () => {
    const report = await checkAbi([{ hostPath: oldLib, soname: 'libold.so.1' }, { hostPath: plainLib }], oldImage);
    expect(report).toEqual({ glibcVersion: '2.17', machine: 'x86-64' });
  });

  it('accepts the new library against an image whose glibc is this host’s own', async () => {
    const hostLike = path.join(dir, 'host-image');
    await fs.mkdir(path.join(hostLike, 'lib64'), { recursive: true });
    await fs.copyFile('/lib/x86_64-linux-gnu/libc.so.6', path.join(hostLike, 'lib64/libc.so.6'));
    const report = await checkAbi([{ hostPath: newLib }], hostLike);
    expect(Number(report.glibcVersion!.split('.')[1])).toBeGreaterThanOrEqual(34);
  });

  it('refuses a library built for another machine', async () => {
    const bytes = Buffer.from(await fs.readFile(oldLib));
    bytes.writeUInt16LE(183, 18); // e_machine = EM_AARCH64
    const armLib = path.join(dir, 'host', 'libarm.so');
    await fs.writeFile(armLib, bytes);
    const error = await caught(checkAbi([{ hostPath: armLib }], oldImage));
    expect(error.code).toBe('ABI_INCOMPATIBLE');
    expect(error.message).toBe('Host library libarm.so is aarch64 but the image is x86-64.');
  });

  it('says clearly that a musl image cannot load glibc-built libraries, but accepts one needing no glibc', async () => {
    const error = await caught(checkAbi([{ hostPath: oldLib, soname: 'libold.so.1' }], muslImage));
    expect(error.code).toBe('ABI_INCOMPATIBLE');
    expect(error.message).toBe('Host library libold.so.1 needs glibc (GLIBC_2.2.5), but the image uses musl libc, not glibc.');
    await expect(checkAbi([{ hostPath: plainLib }], muslImage)).resolves.toEqual({});
  });

  it('reports a host file that is not ELF', async () => {
    const bogus = path.join(dir, 'host', 'libbogus.so');
    await fs.writeFile(bogus, 'INPUT(-lfoo)\n');
    const error = await caught(checkAbi([{ hostPath: bogus }], oldImage));
    expect(error.code).toBe('ABI_INCOMPATIBLE');
    expect(error.message).toMatch(/^Host library libbogus\.so \(.*\) cannot be read as an ELF library: not an ELF file/);
  });
});

describe('highestGlibc', () => {
  it('compares numerically and ignores non-numeric names', () => {
    expect(highestGlibc(['GLIBC_2.9', 'GLIBC_2.17', 'GLIBC_2.3.4', 'GLIBC_PRIVATE', 'GLIBC_ABI_DT_RELR'])).toBe('2.17');
    expect(highestGlibc(['GLIBCXX_3.4'])).toBeUndefined();
  });
});
