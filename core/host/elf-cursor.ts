// Bounds-checked reads from an ELF image in either byte order and class, and the error
// every malformed-file path raises: a bad offset is reported, never read past.

export class ElfFormatError extends Error {
  /** The file offset where the problem was found. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.name = 'ElfFormatError';
    this.offset = offset;
  }
}

export class ElfCursor {
  private readonly view: DataView;
  readonly length: number;

  constructor(
    readonly bytes: Uint8Array,
    readonly wide: boolean,
    readonly little: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.length = bytes.byteLength;
  }

  /** Throws unless [offset, offset+size) lies inside the file. */
  need(offset: number, size: number, what: string): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(size) || offset < 0 || size < 0 || offset + size > this.length) {
      throw new ElfFormatError(`${what} at offset ${offset} (${size} bytes) runs past the end of the file (${this.length} bytes)`, offset);
    }
  }

  u16(offset: number): number {
    this.need(offset, 2, 'a 16-bit field');
    return this.view.getUint16(offset, this.little);
  }

  u32(offset: number): number {
    this.need(offset, 4, 'a 32-bit field');
    return this.view.getUint32(offset, this.little);
  }

  /** An address or offset field: 4 bytes in ELF32, 8 in ELF64; values past 2^53 saturate (and then fail bounds checks). */
  addr(offset: number): number {
    if (!this.wide) return this.u32(offset);
    this.need(offset, 8, 'a 64-bit field');
    const value = this.view.getBigUint64(offset, this.little);
    return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
  }

  /** A NUL-terminated string at `index` inside a string table; it must end inside the table. */
  string(table: { offset: number; size: number }, index: number): string {
    if (index < 0 || index >= table.size) {
      throw new ElfFormatError(`string index ${index} is outside the string table (${table.size} bytes)`, table.offset);
    }
    const start = table.offset + index;
    const end = table.offset + table.size;
    this.need(start, 1, 'a string');
    for (let i = start; i < end && i < this.length; i++) {
      if (this.bytes[i] === 0) return Buffer.from(this.bytes.subarray(start, i)).toString('latin1');
    }
    throw new ElfFormatError(`string at offset ${start} is not NUL-terminated inside its table`, start);
  }
}
