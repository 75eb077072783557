// Sparse-file maps in the four GNU encodings (GNU tar manual "Storing Sparse Files": old GNU
// 'S' headers, PAX 0.0, 0.1 and 1.0), read and validated as Go's archive/tar does (reader.go
// readOldGNUSparseMap, readGNUSparsePAXHeaders; common.go validateSparseEntries).

import { paxInteger, SPARSE_MAP, type PaxRecords } from './pax-records.js';
import { BLOCK, HeaderError, parseNumeric } from './tar-header.js';

/** A run of real data in the file; everything between runs is a hole of zeros. */
export interface Segment {
  offset: number;
  length: number;
}

/** Entries of an old GNU sparse array (4 in the header at 386, 21 in an extension block). */
export function oldGnuEntries(area: Buffer, count: number, into: Segment[]): void {
  for (let i = 0; i < count; i++) {
    const at = i * 24;
    if (area[at] === 0) {
      break; // GNU and BSD tar stop at the first empty offset too
    }
    into.push({ offset: parseNumeric(area.subarray(at, at + 12), 'sparse offset'), length: parseNumeric(area.subarray(at + 12, at + 24), 'sparse length') });
  }
}

/** The old GNU header's own sparse data: its entries, whether extension blocks follow, the real size. */
export function oldGnuHeader(block: Buffer): { segments: Segment[]; extended: boolean; realSize: number } {
  const segments: Segment[] = [];
  oldGnuEntries(block.subarray(386, 482), 4, segments);
  return { segments, extended: (block[482] as number) > 0, realSize: parseNumeric(block.subarray(483, 495), 'sparse real size') };
}

/** One old GNU extension block: 21 entries and its own "more follow" flag. */
export function oldGnuExtension(block: Buffer, into: Segment[]): boolean {
  oldGnuEntries(block.subarray(0, 504), 21, into);
  return (block[504] as number) > 0;
}

/**
 * Which PAX sparse version the records declare: "0.x" (0.0 and 0.1 keep the map in records),
 * "1.0" (the map opens the data), or undefined (not sparse, or a version nobody reads, which Go
 * also treats as a plain file).
 */
export function paxSparseVersion(records: PaxRecords): '0.x' | '1.0' | undefined {
  const major = records.get('GNU.sparse.major')?.toString('latin1');
  const minor = records.get('GNU.sparse.minor')?.toString('latin1');
  if (major === '0' && (minor === '0' || minor === '1')) return '0.x';
  if (major === '1' && minor === '0') return '1.0';
  if (major !== undefined || minor !== undefined) return undefined;
  return (records.get(SPARSE_MAP)?.length ?? 0) > 0 ? '0.x' : undefined;
}

/** The real size a PAX sparse file declares, if it declares one. */
export function paxSparseSize(records: PaxRecords): number | undefined {
  const value = records.get('GNU.sparse.size') ?? records.get('GNU.sparse.realsize');
  return value === undefined || value.length === 0 ? undefined : paxInteger(value, 'sparse size');
}

/** PAX 0.0 / 0.1: GNU.sparse.numblocks pairs in the comma-separated GNU.sparse.map. */
export function paxSparseMap0x(records: PaxRecords): Segment[] {
  const count = paxInteger(records.get('GNU.sparse.numblocks') ?? Buffer.alloc(0), 'sparse block count') as number;
  const text = records.get(SPARSE_MAP)?.toString('latin1') ?? '';
  const numbers = text === '' ? [] : text.split(',');
  if (count < 0 || numbers.length !== 2 * count) {
    throw new HeaderError('a PAX sparse map does not hold the number of blocks it declares');
  }
  const segments: Segment[] = [];
  for (let i = 0; i < numbers.length; i += 2) {
    segments.push({ offset: decimal(numbers[i] as string), length: decimal(numbers[i + 1] as string) });
  }
  return segments;
}

/**
 * PAX 1.0: the map is at the start of the data, decimal numbers each ended by a newline (the
 * count, then offset/length pairs), padded to whole blocks. `readBlock` reads one data block.
 * Returns the segments and how many data bytes the map took.
 */
export async function paxSparseMap1x0(readBlock: () => Promise<Buffer>): Promise<{ segments: Segment[]; mapBytes: number }> {
  const blocks: Buffer[] = [];
  let newlines = 0;
  const need = async (count: number): Promise<string[]> => {
    while (newlines < count) {
      const block = await readBlock();
      blocks.push(block);
      for (const byte of block) if (byte === 0x0a) newlines++;
    }
    return Buffer.concat(blocks).toString('latin1').split('\n');
  };
  const count = decimal((await need(1))[0] as string);
  if (count < 0) {
    throw new HeaderError('a PAX 1.0 sparse map declares a negative number of blocks');
  }
  const lines = await need(1 + 2 * count);
  const segments: Segment[] = [];
  for (let i = 0; i < count; i++) {
    segments.push({ offset: decimal(lines[1 + 2 * i] as string), length: decimal(lines[2 + 2 * i] as string) });
  }
  return { segments, mapBytes: blocks.length * BLOCK };
}

/** BSD tar's checks, as Go makes them: in order, not overlapping, inside the real size. */
export function validateSparse(segments: readonly Segment[], size: number): void {
  let end = 0;
  for (const segment of segments) {
    if (segment.offset < 0 || segment.length < 0 || segment.offset < end || segment.offset + segment.length > size) {
      throw new HeaderError('a sparse map has regions out of order, overlapping or beyond the file size');
    }
    end = segment.offset + segment.length;
  }
}

function decimal(text: string): number {
  if (!/^[+-]?[0-9]+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new HeaderError(`a sparse map holds ${JSON.stringify(text.slice(0, 40))}, which is not a number`);
  }
  return Number(text);
}
