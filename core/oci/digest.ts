// Digest strings ("sha256:<64 hex>"): validation before a digest becomes a path or a URL,
// and hashing of bytes in memory (image-spec descriptor.md#digests).

import { createHash } from 'node:crypto';
import { EnvlockError } from '../errors.js';

export type Algorithm = 'sha256' | 'sha512';

const PATTERNS: Record<Algorithm, RegExp> = {
  sha256: /^sha256:[a-f0-9]{64}$/,
  sha512: /^sha512:[a-f0-9]{128}$/,
};

export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && (PATTERNS.sha256.test(value) || PATTERNS.sha512.test(value));
}

/** Throws DIGEST_INVALID unless the string is a digest envlock can verify. */
export function assertDigest(value: unknown, what: string): string {
  if (!isDigest(value)) {
    throw new EnvlockError('DIGEST_INVALID', `The digest of ${what} is not a valid sha256 or sha512 digest: ${JSON.stringify(value)}.`, {
      hint: 'Check the lockfile or the registry response; digests look like sha256:<64 lower-case hex digits>.',
    });
  }
  return value;
}

export function digestParts(digest: string): { algorithm: Algorithm; hex: string } {
  const colon = digest.indexOf(':');
  return { algorithm: digest.slice(0, colon) as Algorithm, hex: digest.slice(colon + 1) };
}

export function sha256Digest(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function digestOf(data: Uint8Array | string, algorithm: Algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/** The first 12 hex digits, for tables and messages. */
export function shortDigest(digest: string): string {
  return digestParts(digest).hex.slice(0, 12);
}
