// Reads a whole file that must stay below a size limit: the size is checked before reading, and
// the read stops one byte past the limit, so a file that grows while it is read (or a device
// that never ends) cannot make envlock hold more than the limit in memory.

import { constants as FS } from 'node:fs';
import fs from 'node:fs/promises';

export type BoundedRead = { bytes: Buffer } | { tooLarge: number };

/** The file's bytes, or `tooLarge` with the size seen (at least limit + 1) when it exceeds `limit`. */
export async function readBounded(file: string, limit: number): Promise<BoundedRead> {
  const handle = await fs.open(file, FS.O_RDONLY);
  try {
    const { size } = await handle.stat();
    if (size > limit) return { tooLarge: size };
    // Room for what stat saw plus one byte, grown (up to limit + 1) only if the file grows.
    let buffer = Buffer.allocUnsafe(size + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        const grown = Buffer.allocUnsafe(Math.min(limit + 1, buffer.length * 2));
        buffer.copy(grown, 0, 0, length);
        buffer = grown;
      }
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > limit) return { tooLarge: length };
    }
    return { bytes: buffer.subarray(0, length) };
  } finally {
    await handle.close();
  }
}
