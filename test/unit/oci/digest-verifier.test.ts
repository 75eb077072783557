// DigestVerifier: the size is enforced on the first byte too many, a short stream and a wrong
// digest fail at the end with evidence, and a resumed prefix is hashed once.

import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { DigestVerifier, verifyFailure } from '../../../core/oci/digest-verifier.js';

const data = Buffer.from('0123456789'.repeat(100));
const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;

function thrown(fn: () => void): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('DigestVerifier', () => {
  it('accepts the right bytes in any chunking', () => {
    const v = new DigestVerifier(digest, { size: data.length });
    for (let i = 0; i < data.length; i += 7) v.update(data.subarray(i, i + 7));
    v.finish();
    expect(v.received).toBe(1000);
  });

  it('stops at the first byte beyond the declared size (SIZE_MISMATCH, too-large)', () => {
    const v = new DigestVerifier(digest, { size: data.length });
    v.update(data);
    const error = thrown(() => v.update(Buffer.from('x')));
    expect(error).toMatchObject({ code: 'SIZE_MISMATCH', message: `Blob ${digest} is larger than the 1000 bytes its descriptor declares.` });
    expect(verifyFailure(error)).toBe('too-large');
  });

  it('tells a truncated stream (resumable) from a wrong digest (not)', () => {
    const short = new DigestVerifier(digest, { size: data.length });
    short.update(data.subarray(0, 400));
    const truncated = thrown(() => short.finish());
    expect(truncated).toMatchObject({ code: 'SIZE_MISMATCH', message: `Blob ${digest} was truncated: 400 of 1000 bytes arrived.` });
    expect(verifyFailure(truncated)).toBe('truncated');
    const wrong = new DigestVerifier(digest, { size: data.length, where: 'the OCI image layout ./img' });
    wrong.update(Buffer.alloc(1000));
    const mismatch = thrown(() => wrong.finish());
    expect(mismatch).toMatchObject({ code: 'DIGEST_MISMATCH', message: expect.stringMatching(new RegExp(`^The blob ${digest} in the OCI image layout \\./img failed verification: wanted ${digest}, got sha256:[0-9a-f]{64}, 1000 bytes\\.$`)) });
    expect(verifyFailure(mismatch)).toBe('digest');
  });

  it('continues over a resumed prefix read from a file', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'envlock-verifier-'));
    try {
      await fs.writeFile(path.join(dir, 'partial'), data.subarray(0, 600));
      const v = new DigestVerifier(digest, { size: data.length });
      await v.seed(path.join(dir, 'partial'), 600);
      v.update(data.subarray(600));
      v.finish();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('as a stream, fails the pipeline when the bytes are wrong', async () => {
    const sink = async (source: AsyncIterable<Buffer>): Promise<void> => {
      for await (const _ of source) void _;
    };
    await pipeline(Readable.from([data]), new DigestVerifier(digest, { size: 1000 }).transform(), sink);
    await expect(pipeline(Readable.from([Buffer.alloc(1000)]), new DigestVerifier(digest, { size: 1000 }).transform(), sink)).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
  });
});
