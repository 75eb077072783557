// GNU symbol versioning tables (LSB Core "Symbol Versioning"): Elf_Verneed/Elf_Vernaux
// (.gnu.version_r, SHT_GNU_verneed) and Elf_Verdef/Elf_Verdaux (.gnu.version_d, SHT_GNU_verdef).
// The chains are linked by relative offsets; each walk is capped and must move forward in the file.

import { ElfCursor, ElfFormatError } from './elf-cursor.js';
import type { ElfVersionNeed } from './elf.js';

const VER_FLG_BASE = 1;
/** No real library has more; a larger count is a hostile or corrupt file. */
const MAX_ENTRIES = 4096;

/** Walks the Verneed chain: for each needed file, the version names it needs. */
export function readVersionNeeds(c: ElfCursor, start: number, count: number, str: (i: number) => string): ElfVersionNeed[] {
  const needs: ElfVersionNeed[] = [];
  const limit = count > 0 ? Math.min(count, MAX_ENTRIES) : MAX_ENTRIES;
  let at = start;
  for (let i = 0; i < limit; i++) {
    // Elf_Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32 (16 bytes, both classes).
    c.need(at, 16, 'a version-need entry');
    const version = c.u16(at);
    if (version !== 1) throw new ElfFormatError(`unsupported version-need revision ${version}`, at);
    const auxCount = c.u16(at + 2);
    const file = str(c.u32(at + 4));
    const versions: string[] = [];
    let aux = at + c.u32(at + 8);
    for (let j = 0; j < Math.min(auxCount, MAX_ENTRIES); j++) {
      // Elf_Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32.
      c.need(aux, 16, 'a version-need auxiliary entry');
      versions.push(str(c.u32(aux + 8)));
      const next = c.u32(aux + 12);
      if (next === 0) break;
      aux += next;
    }
    needs.push({ file, versions });
    const next = c.u32(at + 12);
    if (next === 0) break;
    at += next;
  }
  return needs;
}

/** Walks the Verdef chain and returns the defined version names, without the base (file name) entry. */
export function readVersionDefs(c: ElfCursor, start: number, count: number, str: (i: number) => string): string[] {
  const defs: string[] = [];
  const limit = count > 0 ? Math.min(count, MAX_ENTRIES) : MAX_ENTRIES;
  let at = start;
  for (let i = 0; i < limit; i++) {
    // Elf_Verdef: vd_version u16, vd_flags u16, vd_ndx u16, vd_cnt u16, vd_hash u32, vd_aux u32, vd_next u32 (20 bytes).
    c.need(at, 20, 'a version-definition entry');
    const version = c.u16(at);
    if (version !== 1) throw new ElfFormatError(`unsupported version-definition revision ${version}`, at);
    const flags = c.u16(at + 2);
    const auxCount = c.u16(at + 6);
    if (auxCount > 0) {
      // The first Elf_Verdaux (vda_name u32, vda_next u32) names the version; later ones name its parents.
      const aux = at + c.u32(at + 12);
      c.need(aux, 8, 'a version-definition auxiliary entry');
      const name = str(c.u32(aux));
      if ((flags & VER_FLG_BASE) === 0 && !defs.includes(name)) defs.push(name);
    }
    const next = c.u32(at + 16);
    if (next === 0) break;
    at += next;
  }
  return defs;
}
