// The small SHA-256 of the prepared-run cache key must be SHA-256: the same digest as node:crypto
// for every length around the block and padding boundaries, and for inputs given in parts.

import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../core/oci/sha256-small.js';

const reference = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describe('sha256Hex', () => {
  it('gives the known digest of the empty input and of "abc"', () => {
    expect(sha256Hex([])).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex([Buffer.from('abc')])).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('agrees with node:crypto for every length up to three blocks and for a lock-sized input', () => {
    for (let n = 0; n <= 200; n++) {
      const data = randomBytes(n);
      expect(sha256Hex([data]), `length ${n}`).toBe(reference(data));
    }
    const big = randomBytes(70_000);
    expect(sha256Hex([big])).toBe(reference(big));
  });

  it('hashes parts as their concatenation', () => {
    const parts = [randomBytes(3), Buffer.alloc(0), randomBytes(61), randomBytes(130)];
    expect(sha256Hex(parts)).toBe(reference(Buffer.concat(parts)));
  });
});
