import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ElfFormatError, readElfInfo } from '../../../core/host/elf.js';
import { buildLibrary, removeDir, tempDir } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => removeDir(dir));

function parseOrError(buffer: Uint8Array): unknown {
  try {
    return readElfInfo(buffer);
  } catch (error) {
    return error;
  }
}

describe('readElfInfo on real files', () => {
  it('reads /bin/ls: 64-bit little-endian x86-64 needing libc versions', async () => {
    const info = readElfInfo(await fs.readFile('/bin/ls'));
    expect(info.class).toBe(64);
    expect(info.endian).toBe('little');
    expect(info.machine).toBe(62);
    expect(info.needed).toContain('libc.so.6');
    const libc = info.versionNeeds.find((n) => n.file === 'libc.so.6');
    expect(libc?.versions).toContain('GLIBC_2.2.5');
  });

  it("reads this host's libc.so.6: its soname and the GLIBC_2.x versions it defines", async () => {
    const info = readElfInfo(await fs.readFile('/lib/x86_64-linux-gnu/libc.so.6'));
    expect(info.soname).toBe('libc.so.6');
    expect(info.versionDefs).toContain('GLIBC_2.2.5');
    expect(info.versionDefs).toContain('GLIBC_2.34');
    expect(info.versionDefs).toContain('GLIBC_PRIVATE');
    // The base entry names the file itself and is not a version.
    expect(info.versionDefs).not.toContain('libc.so.6');
  });

  it('agrees with readelf on a gcc-built library: soname, needed, runpath, version needs', async () => {
    const lib = buildLibrary(dir, {
      file: 'libdemo.so.1',
      soname: 'libdemo.so.1',
      source: '#include <pthread.h>\nstatic void*f(void*a){return a;}\nint go(void){pthread_t t; return pthread_create(&t,0,f,0);}\n',
      args: ['-Wl,-rpath,$ORIGIN/../lib', '-Wl,--enable-new-dtags'],
    });
    const info = readElfInfo(await fs.readFile(lib));
    expect(info.soname).toBe('libdemo.so.1');
    expect(info.needed).toEqual(['libc.so.6']);
    expect(info.runpath).toEqual(['$ORIGIN/../lib']);
    const readelf = execFileSync('readelf', ['-V', lib], { encoding: 'utf8' });
    const expected = [...readelf.matchAll(/Name: (GLIBC_[0-9.]+)/g)].map((m) => m[1]).sort();
    expect(info.versionNeeds).toHaveLength(1);
    expect([...info.versionNeeds[0]!.versions].sort()).toEqual(expected);
    expect(info.versionNeeds[0]!.versions).toContain('GLIBC_2.34');
  });

  it('reads the version needs of a library whose section headers were stripped away', async () => {
    const lib = buildLibrary(dir, { file: 'libnosec.so', source: '#include <stdio.h>\nint hi(void){return puts("hi");}\n' });
    const bytes = Buffer.from(await fs.readFile(lib));
    // Zero e_shoff/e_shnum: only program headers remain, as with sstrip'ed files.
    bytes.writeBigUInt64LE(0n, 40);
    bytes.writeUInt16LE(0, 60);
    const info = readElfInfo(bytes);
    expect(info.needed).toEqual(['libc.so.6']);
    expect(info.versionNeeds[0]?.versions).toContain('GLIBC_2.2.5');
  });
});

describe('readElfInfo on hand-made headers', () => {
  function header(opts: { wide: boolean; little: boolean; machine: number }): Buffer {
    const b = Buffer.alloc(opts.wide ? 64 : 52);
    b.set([0x7f, 0x45, 0x4c, 0x46, opts.wide ? 2 : 1, opts.little ? 1 : 2, 1], 0);
    if (opts.little) b.writeUInt16LE(opts.machine, 18);
    else b.writeUInt16BE(opts.machine, 18);
    return b;
  }

  it('reads a big-endian ELF32 header (ppc) without a dynamic section', () => {
    const info = readElfInfo(header({ wide: false, little: false, machine: 20 }));
    expect(info).toMatchObject({ class: 32, endian: 'big', machine: 20, needed: [], versionNeeds: [] });
  });

  it('reads an aarch64 ELF64 header', () => {
    expect(readElfInfo(header({ wide: true, little: true, machine: 183 })).machine).toBe(183);
  });
});

describe('readElfInfo on broken input', () => {
  it('rejects garbage with a clear ElfFormatError', () => {
    const error = parseOrError(Buffer.from('#!/bin/sh\necho not elf\n'));
    expect(error).toBeInstanceOf(ElfFormatError);
    expect((error as Error).message).toMatch(/not an ELF file/);
  });

  it('rejects an unknown ELF class', () => {
    const b = Buffer.alloc(64);
    b.set([0x7f, 0x45, 0x4c, 0x46, 9, 1], 0);
    expect((parseOrError(b) as Error).message).toMatch(/unknown ELF class 9/);
  });

  it('never crashes on any truncation of a real library', async () => {
    const bytes = await fs.readFile('/bin/ls');
    for (const size of [5, 20, 63, 64, 100, 300, 1000, 4000, 12000, bytes.length >> 1]) {
      const result = parseOrError(bytes.subarray(0, size));
      if (result instanceof Error) expect(result).toBeInstanceOf(ElfFormatError);
    }
    expect(parseOrError(bytes.subarray(0, 100))).toBeInstanceOf(ElfFormatError);
  });

  it('walks a hostile version-need chain (huge count, forward links into garbage) to a bounded end', async () => {
    const lib = buildLibrary(dir, { file: 'libloop.so', source: '#include <stdio.h>\nint hi(void){return puts("hi");}\n' });
    const bytes = Buffer.from(await fs.readFile(lib));
    const text = execFileSync('readelf', ['-V', lib], { encoding: 'utf8' });
    const offset = Number.parseInt(/\.gnu\.version_r'[\s\S]*?Offset: (0x[0-9a-f]+)/.exec(text)![1]!, 16);
    bytes.writeUInt16LE(0xffff, offset + 2); // vn_cnt: 65535 aux entries claimed
    const aux = offset + bytes.readUInt32LE(offset + 8);
    bytes.writeUInt32LE(16, aux + 12); // vna_next: keep walking forward through whatever follows
    const started = Date.now();
    const result = parseOrError(bytes);
    // Either the walk meets the end of the file (an ElfFormatError) or garbage that still parses; never a hang.
    if (result instanceof Error) expect(result).toBeInstanceOf(ElfFormatError);
    else expect((result as { versionNeeds: { versions: string[] }[] }).versionNeeds[0]!.versions.length).toBeLessThanOrEqual(0xffff);
    expect(Date.now() - started).toBeLessThan(1000);
    // A vn_aux that points past the end of the file is reported, not followed.
    bytes.writeUInt32LE(0x7fffffff, offset + 8);
    expect((parseOrError(bytes) as Error).message).toMatch(/runs past the end of the file/);
  });

  it('rejects a string-table offset outside the table', async () => {
    const lib = path.join(dir, 'libdemo.so.1');
    const bytes = Buffer.from(await fs.readFile(lib));
    const text = execFileSync('readelf', ['-V', lib], { encoding: 'utf8' });
    const offset = Number.parseInt(/\.gnu\.version_r'[\s\S]*?Offset: (0x[0-9a-f]+)/.exec(text)![1]!, 16);
    bytes.writeUInt32LE(0xfffffff0, offset + 4); // vn_file
    const error = parseOrError(bytes);
    expect(error).toBeInstanceOf(ElfFormatError);
    expect((error as Error).message).toMatch(/outside the string table/);
  });
});
