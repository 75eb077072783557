// A small, bounds-checked ELF reader: class, byte order, machine, and the dynamic section's
// SONAME, NEEDED, RUNPATH and GNU symbol versions (System V gABI ch. 4-5; LSB "Symbol Versioning").
// Every offset is checked against the buffer, so a truncated or hostile file is an ElfFormatError.

import { readVersionDefs, readVersionNeeds } from './elf-versions.js';
import { ElfCursor, ElfFormatError } from './elf-cursor.js';

export { ElfFormatError } from './elf-cursor.js';

/** e_machine values envlock names in messages (gABI "e_machine"). */
export const ELF_MACHINES: Record<number, string> = {
  3: 'x86',
  8: 'mips',
  20: 'ppc',
  21: 'ppc64',
  22: 's390x',
  40: 'arm',
  62: 'x86-64',
  183: 'aarch64',
  243: 'riscv64',
  258: 'loongarch64',
};

export function machineName(machine: number): string {
  return ELF_MACHINES[machine] ?? `machine ${machine}`;
}

export interface ElfVersionNeed {
  /** The library the versions are needed from (vn_file), e.g. libc.so.6. */
  file: string;
  /** Version names (vna_name), e.g. GLIBC_2.34. */
  versions: string[];
}

export interface ElfInfo {
  class: 32 | 64;
  endian: 'little' | 'big';
  /** e_type: 2 executable, 3 shared object (or PIE). */
  type: number;
  machine: number;
  soname?: string;
  needed: string[];
  runpath: string[];
  versionNeeds: ElfVersionNeed[];
  /** Versions this file defines (verdefs without the VER_FLG_BASE entry, which names the file). */
  versionDefs: string[];
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const SHT_DYNAMIC = 6;
const SHF_ALLOC = 2;

const DT = {
  NULL: 0,
  NEEDED: 1,
  STRTAB: 5,
  STRSZ: 10,
  SONAME: 14,
  RPATH: 15,
  RUNPATH: 29,
  VERDEF: 0x6ffffffc,
  VERDEFNUM: 0x6ffffffd,
  VERNEED: 0x6ffffffe,
  VERNEEDNUM: 0x6fffffff,
} as const;

/** A piece of the file mapped at a virtual address, for address-to-offset translation. */
interface Segment {
  vaddr: number;
  offset: number;
  size: number;
}

/** Parses the ELF facts envlock needs; throws ElfFormatError on anything malformed. */
export function readElfInfo(buffer: Uint8Array): ElfInfo {
  if (buffer.length < 16 || buffer[0] !== 0x7f || buffer[1] !== 0x45 || buffer[2] !== 0x4c || buffer[3] !== 0x46) {
    throw new ElfFormatError('not an ELF file (bad magic number)', 0);
  }
  const elfClass = buffer[4];
  const data = buffer[5];
  if (elfClass !== 1 && elfClass !== 2) throw new ElfFormatError(`unknown ELF class ${elfClass}`, 4);
  if (data !== 1 && data !== 2) throw new ElfFormatError(`unknown ELF data encoding ${data}`, 5);
  const c = new ElfCursor(buffer, elfClass === 2, data === 1);
  const wide = c.wide;
  if (buffer.length < (wide ? 64 : 52)) throw new ElfFormatError('file is shorter than its ELF header', buffer.length);

  const type = c.u16(16);
  const machine = c.u16(18);
  const phoff = c.addr(wide ? 32 : 28);
  const shoff = c.addr(wide ? 40 : 32);
  const phentsize = c.u16(wide ? 54 : 42);
  const phnum = c.u16(wide ? 56 : 44);
  const shentsize = c.u16(wide ? 58 : 46);
  const shnum = c.u16(wide ? 60 : 48);

  const segments: Segment[] = [];
  let dynamic: { offset: number; size: number } | undefined;
  if (phnum > 0) {
    if (phentsize < (wide ? 56 : 32)) throw new ElfFormatError(`program header entries are too small (${phentsize})`, 0);
    c.need(phoff, phentsize * phnum, 'program headers');
    for (let i = 0; i < phnum; i++) {
      const at = phoff + i * phentsize;
      const pType = c.u32(at);
      const offset = c.addr(at + (wide ? 8 : 4));
      const vaddr = c.addr(at + (wide ? 16 : 8));
      const filesz = c.addr(at + (wide ? 32 : 16));
      if (pType === PT_LOAD) segments.push({ vaddr, offset, size: filesz });
      if (pType === PT_DYNAMIC) dynamic = { offset, size: filesz };
    }
  }
  // Without program headers (relocatable objects, odd tools) fall back to section headers.
  if ((dynamic === undefined || segments.length === 0) && shnum > 0 && shoff > 0) {
    if (shentsize < (wide ? 64 : 40)) throw new ElfFormatError(`section header entries are too small (${shentsize})`, 0);
    c.need(shoff, shentsize * shnum, 'section headers');
    for (let i = 0; i < shnum; i++) {
      const at = shoff + i * shentsize;
      const shType = c.u32(at + 4);
      const flags = c.addr(at + 8);
      const addr = c.addr(at + (wide ? 16 : 12));
      const offset = c.addr(at + (wide ? 24 : 16));
      const size = c.addr(at + (wide ? 32 : 20));
      if (shType === SHT_DYNAMIC && dynamic === undefined) dynamic = { offset, size };
      if ((flags & SHF_ALLOC) !== 0 && shType !== 8 /* SHT_NOBITS */) segments.push({ vaddr: addr, offset, size });
    }
  }

  const info: ElfInfo = {
    class: wide ? 64 : 32,
    endian: c.little ? 'little' : 'big',
    type,
    machine,
    needed: [],
    runpath: [],
    versionNeeds: [],
    versionDefs: [],
  };
  if (dynamic === undefined || dynamic.size === 0) return info;
  readDynamic(c, dynamic, segments, info);
  return info;
}

function readDynamic(c: ElfCursor, dynamic: { offset: number; size: number }, segments: Segment[], info: ElfInfo): void {
  const entrySize = c.wide ? 16 : 8;
  c.need(dynamic.offset, Math.min(dynamic.size, entrySize), 'dynamic section');
  const count = Math.floor(Math.min(dynamic.size, c.length - dynamic.offset) / entrySize);
  const values = new Map<number, number>();
  const needed: number[] = [];
  const paths: number[] = [];
  for (let i = 0; i < count; i++) {
    const at = dynamic.offset + i * entrySize;
    const tag = c.wide ? c.addr(at) : c.u32(at);
    const value = c.addr(at + (c.wide ? 8 : 4));
    if (tag === DT.NULL) break;
    if (tag === DT.NEEDED) needed.push(value);
    else if (tag === DT.RUNPATH || tag === DT.RPATH) paths.push(value);
    else if (!values.has(tag)) values.set(tag, value);
  }
  const strtabAddr = values.get(DT.STRTAB);
  if (strtabAddr === undefined) {
    if (needed.length > 0 || values.has(DT.SONAME)) throw new ElfFormatError('dynamic section has no DT_STRTAB', dynamic.offset);
    return;
  }
  const strOffset = toOffset(segments, strtabAddr, 'DT_STRTAB');
  const strSize = Math.min(values.get(DT.STRSZ) ?? c.length - strOffset, c.length - strOffset);
  const strings = { offset: strOffset, size: strSize };
  const str = (index: number): string => c.string(strings, index);

  info.needed = needed.map(str);
  info.runpath = paths.flatMap((p) => str(p).split(':')).filter((p) => p !== '');
  const soname = values.get(DT.SONAME);
  if (soname !== undefined) info.soname = str(soname);
  const verneed = values.get(DT.VERNEED);
  if (verneed !== undefined) {
    const at = toOffset(segments, verneed, 'DT_VERNEED');
    info.versionNeeds = readVersionNeeds(c, at, values.get(DT.VERNEEDNUM) ?? 0, str);
  }
  const verdef = values.get(DT.VERDEF);
  if (verdef !== undefined) {
    const at = toOffset(segments, verdef, 'DT_VERDEF');
    info.versionDefs = readVersionDefs(c, at, values.get(DT.VERDEFNUM) ?? 0, str);
  }
}

/** Translates a virtual address to a file offset through the loadable segments (gABI "Program Loading"). */
function toOffset(segments: Segment[], vaddr: number, what: string): number {
  for (const s of segments) {
    if (vaddr >= s.vaddr && vaddr < s.vaddr + s.size) return s.offset + (vaddr - s.vaddr);
  }
  throw new ElfFormatError(`${what} address 0x${vaddr.toString(16)} is not inside any loaded segment`, 0);
}
