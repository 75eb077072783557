// OCI image layouts: write, read back, find by tag, verify blobs, and refuse broken layouts with
// the right error code, exit status and message.

import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EnvlockError } from '../../../core/errors.js';
import { findInLayout, layoutBlobPath, readLayoutBlob, readLayoutIndex, writeLayout } from '../../../core/oci/layout.js';
import { buildImage, type BuiltImage } from '../../helpers/image-builder.js';
import { tarEntries } from '../../helpers/tar-writer.js';

function image(name: string): BuiltImage {
  return buildImage({ layers: [tarEntries([{ path: name, type: 'file', content: name }])], platform: { os: 'linux', architecture: 'amd64' } });
}

function contentOf(img: BuiltImage, refName?: string) {
  const blobs = new Map<string, Buffer | string>(img.blobs);
  blobs.set(img.digest, img.manifestBytes);
  return { blobs, manifests: [{ descriptor: img.descriptor, ...(refName === undefined ? {} : { refName }) }] };
}

async function caught(promise: Promise<unknown> | (() => unknown)): Promise<EnvlockError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    if (error instanceof EnvlockError) return error;
    throw error;
  }
  throw new Error('expected an EnvlockError');
}

describe('OCI image layout', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'envlock-layout-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a layout that reads back: marker, index, tagged descriptor, verified blobs', async () => {
    const img = image('a');
    await writeLayout(dir, contentOf(img, 'latest'));
    expect(JSON.parse(readFileSync(join(dir, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = await readLayoutIndex(dir);
    expect(index.manifests).toHaveLength(1);
    const found = await findInLayout(dir, 'latest');
    expect(found).toMatchObject({ digest: img.digest, size: img.manifestBytes.length, annotations: { 'org.opencontainers.image.ref.name': 'latest' } });
    expect(await findInLayout(dir)).toEqual(found);
    expect(await readLayoutBlob(dir, found)).toEqual(img.manifestBytes);
    expect(layoutBlobPath(dir, img.digest)).toBe(join(dir, 'blobs', 'sha256', img.digest.slice(7)));
    expect(readdirSync(join(dir, 'blobs', 'sha256')).sort()).toEqual([...img.blobs.keys(), img.digest].map((d) => d.slice(7)).sort());
  });

  it('copies blobs given as file paths, and keeps other tags when a tag is added or replaced', async () => {
    const a = image('a');
    const b = image('b');
    const c = image('c');
    await writeLayout(dir, contentOf(a, 'one'));
    const staged = join(dir, '..', `${dir.split('/').pop()}-staged`);
    writeFileSync(staged, b.manifestBytes);
    const content = contentOf(b, 'two');
    content.blobs.set(b.digest, staged);
    await writeLayout(dir, content);
    rmSync(staged);
    await writeLayout(dir, contentOf(c, 'one'));
    expect((await findInLayout(dir, 'one')).digest).toBe(c.digest);
    expect((await findInLayout(dir, 'two')).digest).toBe(b.digest);
    expect(await readLayoutBlob(dir, await findInLayout(dir, 'two'))).toEqual(b.manifestBytes);
    expect((await readLayoutIndex(dir)).manifests).toHaveLength(2);
  });

  it('refuses a directory without oci-layout (LAYOUT_INVALID, exit 1)', async () => {
    const error = await caught(readLayoutIndex(dir));
    expect(error.code).toBe('LAYOUT_INVALID');
    expect(error.exitCode).toBe(1);
    expect(error.message).toBe(`The OCI image layout ${dir} has no oci-layout file.`);
    expect(error.hint).toMatch(/^Point the reference/);
  });

  it('refuses another layout version, a broken index.json, and a bad digest in it', async () => {
    writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '2.0.0' }));
    const version = await caught(readLayoutIndex(dir));
    expect(version.code).toBe('LAYOUT_INVALID');
    expect(version.message).toBe(`The OCI image layout ${dir} has imageLayoutVersion "2.0.0", but envlock reads only 1.0.0.`);
    writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(join(dir, 'index.json'), '{not json');
    expect((await caught(readLayoutIndex(dir))).message).toBe(`The OCI image layout ${dir} has an index.json that is not valid JSON.`);
    writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 1, manifests: [] }));
    expect((await caught(readLayoutIndex(dir))).message).toMatch(/index\.json that is not an image index/);
    writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'x', size: 1, digest: 'sha256:../../etc' }] }));
    const digest = await caught(readLayoutIndex(dir));
    expect(digest.code).toBe('DIGEST_INVALID');
    expect(digest.exitCode).toBe(1);
  });

  it('names the tags when a tag is unknown or missing (LAYOUT_REF_UNKNOWN)', async () => {
    await writeLayout(dir, contentOf(image('a'), 'latest'));
    await writeLayout(dir, contentOf(image('b'), 'stable'));
    const unknown = await caught(findInLayout(dir, 'lates'));
    expect(unknown.code).toBe('LAYOUT_REF_UNKNOWN');
    expect(unknown.exitCode).toBe(1);
    expect(unknown.message).toBe(`The OCI image layout ${dir} has no image tagged lates. Did you mean \`latest\`?`);
    expect(unknown.hint).toBe('Use one of its tags: latest, stable.');
    const untagged = await caught(findInLayout(dir));
    expect(untagged.code).toBe('LAYOUT_REF_UNKNOWN');
    expect(untagged.message).toBe(`The OCI image layout ${dir} holds 2 images, so a tag must say which one.`);
  });

  it('refuses a blob path for a digest that is not one', async () => {
    const error = await caught(() => layoutBlobPath(dir, 'sha256:../../../etc/passwd'));
    expect(error.code).toBe('DIGEST_INVALID');
  });

  it('detects tampered and truncated blobs (DIGEST_MISMATCH, SIZE_MISMATCH)', async () => {
    const img = image('a');
    await writeLayout(dir, contentOf(img, 'latest'));
    const path = layoutBlobPath(dir, img.digest);
    const bytes = Buffer.from(img.manifestBytes);
    bytes[5] = (bytes[5] ?? 0) ^ 1;
    writeFileSync(path, bytes);
    const mismatch = await caught(readLayoutBlob(dir, img.descriptor));
    expect(mismatch.code).toBe('DIGEST_MISMATCH');
    expect(mismatch.message).toMatch(new RegExp(`^The blob ${img.digest} in the OCI image layout .* has digest sha256:`));
    writeFileSync(path, bytes.subarray(1));
    const size = await caught(readLayoutBlob(dir, img.descriptor));
    expect(size.code).toBe('SIZE_MISMATCH');
    expect(size.message).toBe(`The blob ${img.digest} in the OCI image layout ${dir} is ${bytes.length - 1} bytes, not ${bytes.length}.`);
    // Writing the layout again repairs the damaged blob.
    await writeLayout(dir, contentOf(img, 'latest'));
    expect(await readLayoutBlob(dir, img.descriptor)).toEqual(img.manifestBytes);
  });

  it('refuses to store bytes under a digest they do not have, leaving no file behind', async () => {
    const img = image('a');
    const content = contentOf(img, 'latest');
    content.blobs.set(img.digest, Buffer.from('something else'));
    const error = await caught(writeLayout(dir, content));
    expect(error.code).toBe('DIGEST_MISMATCH');
    expect(readdirSync(join(dir, 'blobs', 'sha256')).some((name) => name.includes('.tmp-') || name === img.digest.slice(7))).toBe(false);
    expect(() => readFileSync(join(dir, 'index.json'))).toThrow();
  });
});
