// A pull reader over a stream of chunks: the tar reader asks for exactly one header block, or for
// up to N bytes of file data, and gets them without copying when one chunk holds them.

export class ByteSource {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;

  constructor(private readonly iterator: AsyncIterator<Buffer>) {}

  private async fill(): Promise<boolean> {
    if (this.ended) {
      return false;
    }
    const next = await this.iterator.next();
    if (next.done === true) {
      this.ended = true;
      return false;
    }
    if (next.value.length > 0) {
      this.chunks.push(next.value);
      this.buffered += next.value.length;
    }
    return true;
  }

  /** Exactly n bytes, or fewer only because the input ended (the caller decides what that means). */
  async read(n: number): Promise<Buffer> {
    while (this.buffered < n && (await this.fill()));
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) {
      return this.take(n);
    }
    const parts: Buffer[] = [];
    let left = Math.min(n, this.buffered);
    while (left > 0) {
      const part = this.take(left);
      parts.push(part);
      left -= part.length;
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }

  /** Between 1 and n bytes (a slice of one chunk); empty only at the end of the input. */
  async some(n: number): Promise<Buffer> {
    while (this.buffered === 0 && (await this.fill()));
    return this.buffered === 0 ? Buffer.alloc(0) : this.take(n);
  }

  /** Drops up to n bytes; returns how many were there. */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      const part = await this.some(left);
      if (part.length === 0) {
        break;
      }
      left -= part.length;
    }
    return n - left;
  }

  /** Reads the rest of the input to its end, so every byte is seen (and hashed) upstream. */
  async drain(): Promise<void> {
    this.chunks.length = 0;
    this.buffered = 0;
    while (await this.fill()) {
      this.chunks.length = 0;
      this.buffered = 0;
    }
  }

  /** Up to n bytes from the first chunk. */
  private take(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length <= n) {
      this.chunks.shift();
      this.buffered -= first.length;
      return first;
    }
    this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return first.subarray(0, n);
  }
}
