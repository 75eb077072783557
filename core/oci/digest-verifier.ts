// Streamed verification of one blob against its descriptor: the size is enforced on every chunk
// (a hostile source could stream forever), the digest when the stream ends (pitfalls 1.4).
// It replaces ssri: ssri checks the size only at the end, cannot be seeded with a resumed
// download's prefix, and works in base64 SRI form where OCI digests are hex.

import { createHash, type Hash } from 'node:crypto';
import { Transform } from 'node:stream';
import { EnvlockError } from '../errors.js';
import { hashFileInto } from '../fs/hash-file.js';
import { digestParts } from './digest.js';

export type VerifyFailure = 'too-large' | 'truncated' | 'digest';

export interface VerifierOptions {
  /** The declared size; without it only the digest is checked. */
  size?: number;
  /** Where the bytes come from, for messages ("the OCI image layout ./img"). */
  where?: string;
  /** The remedy when the bytes are wrong (too large, or another digest). */
  hint?: string;
}

/** The failure kind of a verifier's error: a truncated download may be resumed, the others not. */
export function verifyFailure(error: unknown): VerifyFailure | undefined {
  return error instanceof EnvlockError ? (error.details?.['verifyFailure'] as VerifyFailure | undefined) : undefined;
}

export class DigestVerifier {
  private readonly hash: Hash;
  private bytes = 0;

  constructor(
    readonly digest: string,
    private readonly options: VerifierOptions = {},
  ) {
    this.hash = createHash(digestParts(digest).algorithm);
  }

  get received(): number {
    return this.bytes;
  }

  private subject(): string {
    return this.options.where === undefined ? `Blob ${this.digest}` : `The blob ${this.digest} in ${this.options.where}`;
  }

  private hint(): string {
    return this.options.hint ?? 'The source served corrupted or different content; run the command again, and report the source if it repeats.';
  }

  /** Hashes the first `length` bytes of a file already holding the blob's prefix (a resume). */
  async seed(file: string, length: number): Promise<void> {
    this.bytes += await hashFileInto(this.hash, file, { length });
  }

  /** Counts and hashes a chunk; throws before hashing one byte more than the declared size. */
  update(chunk: Uint8Array): void {
    const size = this.options.size;
    if (size !== undefined && this.bytes + chunk.length > size) {
      throw new EnvlockError('SIZE_MISMATCH', `${this.subject()} is larger than the ${size} bytes its descriptor declares.`, {
        hint: this.hint(),
        details: { digest: this.digest, declared: size, received: this.bytes + chunk.length, verifyFailure: 'too-large' },
      });
    }
    this.hash.update(chunk);
    this.bytes += chunk.length;
  }

  /** Checks the total size and the digest once every byte went through update(). */
  finish(): void {
    const size = this.options.size;
    if (size !== undefined && this.bytes < size) {
      throw new EnvlockError('SIZE_MISMATCH', `${this.subject()} was truncated: ${this.bytes} of ${size} bytes arrived.`, {
        hint: 'Run the command again to resume the download.',
        details: { digest: this.digest, declared: size, received: this.bytes, verifyFailure: 'truncated' },
      });
    }
    const got = `${digestParts(this.digest).algorithm}:${this.hash.digest('hex')}`;
    if (got !== this.digest) {
      throw new EnvlockError('DIGEST_MISMATCH', `${this.subject()} failed verification: wanted ${this.digest}, got ${got}, ${this.bytes} bytes.`, {
        hint: this.hint(),
        details: { wanted: this.digest, got, bytes: this.bytes, verifyFailure: 'digest' },
      });
    }
  }

  /** A pass-through stream that verifies what flows through it and fails at the end if wrong. */
  transform(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        try {
          this.update(chunk);
          callback(null, chunk);
        } catch (error) {
          callback(error as Error);
        }
      },
      flush: (callback) => {
        try {
          this.finish();
          callback();
        } catch (error) {
          callback(error as Error);
        }
      },
    });
  }
}
