// Local image sources: oci: layout directories and oci-archive: tars, read through ImageSource.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { c as tarCreate } from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeContext } from '../../../core/context.js';
import { EnvlockError } from '../../../core/errors.js';
import { writeLayout } from '../../../core/oci/layout.js';
import { parseReference } from '../../../core/registry/reference.js';
import { openSource } from '../../../core/source/image-source.js';

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

const LAYER = Buffer.from('pretend layer bytes '.repeat(100));
const CONFIG = json({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(LAYER)] } });
const MANIFEST = json({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(CONFIG), size: CONFIG.length },
  layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(LAYER), size: LAYER.length }],
});

let dir: string;
const ctx = () => makeContext({ env: { HOME: dir, TMPDIR: dir }, cwd: dir });
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'envlock-source-'));
  await writeLayout(path.join(dir, 'layout'), {
    blobs: new Map([[sha(LAYER), LAYER], [sha(CONFIG), CONFIG], [sha(MANIFEST), MANIFEST]]),
    manifests: [{ descriptor: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(MANIFEST), size: MANIFEST.length }, refName: 'v1' }],
  });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('oci: layout source', () => {
  it('resolves a tag, fetches the config and streams blobs', async () => {
    const source = await openSource(parseReference('oci:layout:v1', { baseDir: dir }), ctx());
    const resolved = await source.resolve();
    expect(resolved.descriptor).toEqual({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(MANIFEST), size: MANIFEST.length });
    expect(await source.fetchBlobJSON(sha(CONFIG))).toMatchObject({ architecture: 'amd64' });
    const whole = await source.openBlob(sha(LAYER));
    expect((await collect(whole.stream)).equals(LAYER)).toBe(true);
    const tail = await source.openBlob(sha(LAYER), 100);
    expect(tail.offset).toBe(100);
    expect((await collect(tail.stream)).equals(LAYER.subarray(100))).toBe(true);
    await source.close();
  });

  it('detects a modified blob while streaming and a modified manifest on read', async () => {
    const blobs = path.join(dir, 'layout', 'blobs', 'sha256');
    fs.writeFileSync(path.join(blobs, sha(LAYER).slice(7)), Buffer.from('tampered'));
    const source = await openSource(parseReference('oci:layout:v1', { baseDir: dir }), ctx());
    const blob = await source.openBlob(sha(LAYER));
    const error = await collect(blob.stream).catch((e: unknown) => e);
    expect((error as EnvlockError).code).toBe('DIGEST_MISMATCH');
    fs.writeFileSync(path.join(blobs, sha(MANIFEST).slice(7)), json({ schemaVersion: 2 }));
    const bad = await source.resolve().catch((e: unknown) => e);
    expect((bad as EnvlockError).code).toBe('DIGEST_MISMATCH');
    expect((bad as EnvlockError).message).toContain(`oci:${dir}/layout:v1`);
  });

  it('reports an unknown tag and a missing blob', async () => {
    const source = await openSource(parseReference('oci:layout:v2', { baseDir: dir }), ctx());
    expect(((await source.resolve().catch((e: unknown) => e)) as EnvlockError).code).toBe('LAYOUT_REF_UNKNOWN');
    const missing = await source.openBlob(sha('absent')).catch((e: unknown) => e);
    expect((missing as EnvlockError).code).toBe('LAYOUT_INVALID');
    expect((missing as EnvlockError).message).toContain(`missing the blob ${sha('absent')}`);
  });
});

describe('oci-archive: source', () => {
  it('reads a tar of a layout and removes its temporary copy on close', async () => {
    fs.symlinkSync('/etc/passwd', path.join(dir, 'layout', 'evil'));
    await tarCreate({ file: path.join(dir, 'image.tar'), cwd: path.join(dir, 'layout') }, ['.']);
    const source = await openSource(parseReference('oci-archive:image.tar:v1', { baseDir: dir }), ctx());
    expect((await source.resolve()).descriptor.digest).toBe(sha(MANIFEST));
    expect((await collect((await source.openBlob(sha(LAYER))).stream)).equals(LAYER)).toBe(true);
    const temps = fs.readdirSync(dir).filter((n) => n.startsWith('envlock-archive-'));
    expect(temps).toHaveLength(1);
    expect(fs.existsSync(path.join(dir, temps[0]!, 'evil'))).toBe(false);
    await source.close();
    expect(fs.readdirSync(dir).filter((n) => n.startsWith('envlock-archive-'))).toHaveLength(0);
  });

  it('reports a missing or broken archive as LAYOUT_INVALID', async () => {
    const missing = await openSource(parseReference('oci-archive:none.tar', { baseDir: dir }), ctx()).catch((e: unknown) => e);
    expect((missing as EnvlockError).code).toBe('LAYOUT_INVALID');
    expect((missing as EnvlockError).message).toMatch(/none\.tar cannot be read \(ENOENT\)/);
    fs.writeFileSync(path.join(dir, 'junk.tar'), Buffer.alloc(3000, 7));
    const junk = await openSource(parseReference('oci-archive:junk.tar', { baseDir: dir }), ctx()).catch((e: unknown) => e);
    expect((junk as EnvlockError).code).toBe('LAYOUT_INVALID');
    expect(fs.readdirSync(dir).filter((n) => n.startsWith('envlock-archive-'))).toHaveLength(0);
  });
});
