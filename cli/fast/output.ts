// Writes a fast path's answer straight to file descriptor 1. Creating process.stdout costs more
// than the rest of a fast answer (it loads the stream and socket machinery), and a file
// descriptor that another process left non-blocking is waited on rather than given up.

import { writeSync } from 'node:fs';

export function writeStdout(text: string): void {
  let buffer = Buffer.from(text, 'utf8');
  let spins = 0;
  while (buffer.length > 0) {
    try {
      buffer = buffer.subarray(writeSync(1, buffer));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN' || ++spins > 10_000) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}
