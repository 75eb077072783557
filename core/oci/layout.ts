// OCI image layouts on disk (image-spec image-layout.md): read and validate `oci-layout` and
// `index.json`, find a tagged manifest, map digests to blob paths, and write a layout safely.

import { constants as FS, createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, EnvlockError } from '../errors.js';
import { fsyncDir, tempSibling, writeFileAtomic } from '../fs/atomic-write.js';
import { hashFile } from '../fs/hash-file.js';
import { didYouMean } from '../suggest.js';
import { assertDigest, digestOf, digestParts } from './digest.js';
import { DigestVerifier } from './digest-verifier.js';
import { REF_NAME_ANNOTATION, type OciDescriptor, type OciIndex } from './image-types.js';
import { MEDIA } from './media-types.js';

/** image-layout.md "oci-layout file": the only version defined. */
export const LAYOUT_VERSION = '1.0.0';

const NOT_A_LAYOUT_HINT = 'Point the reference at a directory written by `skopeo copy … oci:DIR:TAG` or `umoci`, or check the path.';

function invalid(dir: string, what: string, cause?: unknown): EnvlockError {
  return new EnvlockError('LAYOUT_INVALID', `The OCI image layout ${dir} ${what}.`, { hint: NOT_A_LAYOUT_HINT, ...(cause === undefined ? {} : { cause }), details: { dir } });
}

async function readJson(dir: string, name: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(join(dir, name), 'utf8');
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw invalid(dir, `has no ${name} file`, error);
    throw invalid(dir, `could not be read (${name}: ${code ?? String(error)})`, error);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw invalid(dir, `has an ${name} that is not valid JSON`, error);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkDescriptor(dir: string, value: unknown, i: number): OciDescriptor {
  if (!isObject(value) || typeof value.mediaType !== 'string' || typeof value.size !== 'number' || !Number.isSafeInteger(value.size) || value.size < 0) {
    throw invalid(dir, `has an index.json whose manifests[${i}] is not a descriptor with mediaType, digest and size`);
  }
  assertDigest(value.digest, `manifests[${i}] in ${join(dir, 'index.json')}`);
  return value as unknown as OciDescriptor;
}

/** Reads `oci-layout` and `index.json`, refusing anything that is not a version 1.0.0 layout. */
export async function readLayoutIndex(dir: string): Promise<OciIndex> {
  const marker = await readJson(dir, 'oci-layout');
  if (!isObject(marker) || marker.imageLayoutVersion !== LAYOUT_VERSION) {
    const version = isObject(marker) ? JSON.stringify(marker.imageLayoutVersion) : 'none';
    throw new EnvlockError('LAYOUT_INVALID', `The OCI image layout ${dir} has imageLayoutVersion ${version}, but envlock reads only ${LAYOUT_VERSION}.`, {
      hint: 'Re-export the image with a current tool (for example `skopeo copy`).',
      details: { dir, version },
    });
  }
  const index = await readJson(dir, 'index.json');
  if (!isObject(index) || index.schemaVersion !== 2 || !Array.isArray(index.manifests)) {
    throw invalid(dir, 'has an index.json that is not an image index (schemaVersion 2 with a manifests list)');
  }
  const manifests = index.manifests.map((d, i) => checkDescriptor(dir, d, i));
  return { ...(index as OciIndex), manifests };
}

function refName(descriptor: OciDescriptor): string | undefined {
  return descriptor.annotations?.[REF_NAME_ANNOTATION];
}

/**
 * The descriptor tagged `tag` (its org.opencontainers.image.ref.name annotation), or, without a
 * tag, the only descriptor. A ref name may also be a full reference ending in `:tag`.
 */
export async function findInLayout(dir: string, tag?: string): Promise<OciDescriptor> {
  const { manifests } = await readLayoutIndex(dir);
  const names = manifests.map(refName).filter((n): n is string => n !== undefined);
  if (tag === undefined) {
    if (manifests.length === 1 && manifests[0]) return manifests[0];
    throw new EnvlockError('LAYOUT_REF_UNKNOWN', `The OCI image layout ${dir} holds ${manifests.length} images, so a tag must say which one.`, {
      hint: manifests.length === 0 ? 'Copy an image into the layout first.' : `Name one as oci:${dir}:TAG; tags here: ${names.join(', ') || '(none)'}.`,
      details: { dir, tags: names },
    });
  }
  const exact = manifests.filter((d) => refName(d) === tag);
  const found = exact.length > 0 ? exact : manifests.filter((d) => refName(d)?.endsWith(`:${tag}`));
  if (found.length === 1 && found[0]) return found[0];
  if (found.length > 1) {
    throw new EnvlockError('LAYOUT_REF_UNKNOWN', `The OCI image layout ${dir} has ${found.length} images tagged ${tag}.`, {
      hint: 'Remove the duplicate entries from index.json, or re-export the layout.',
      details: { dir, tag },
    });
  }
  throw new EnvlockError('LAYOUT_REF_UNKNOWN', `The OCI image layout ${dir} has no image tagged ${tag}.${didYouMean(tag, names)}`, {
    hint: `Use one of its tags: ${names.join(', ') || '(none)'}.`,
    details: { dir, tag, tags: names },
  });
}

/** blobs/<algorithm>/<encoded>; the digest is validated first so it cannot become `../`. */
export function layoutBlobPath(dir: string, digest: string): string {
  const { algorithm, hex } = digestParts(assertDigest(digest, 'a blob in an OCI image layout'));
  return join(dir, 'blobs', algorithm, hex);
}

/** Reads a blob and checks its size and digest against the descriptor before returning it. */
export async function readLayoutBlob(dir: string, descriptor: Pick<OciDescriptor, 'digest' | 'size'>): Promise<Buffer> {
  const path = layoutBlobPath(dir, descriptor.digest);
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (error) {
    throw invalid(dir, `is missing the blob ${descriptor.digest}`, error);
  }
  if (data.length !== descriptor.size) {
    throw new EnvlockError('SIZE_MISMATCH', `The blob ${descriptor.digest} in the OCI image layout ${dir} is ${data.length} bytes, not ${descriptor.size}.`, {
      hint: 'Re-export the layout; it was modified or truncated.',
      details: { dir, digest: descriptor.digest, expected: descriptor.size, actual: data.length },
    });
  }
  const actual = digestOf(data, digestParts(descriptor.digest).algorithm);
  if (actual !== descriptor.digest) {
    throw new EnvlockError('DIGEST_MISMATCH', `The blob ${descriptor.digest} in the OCI image layout ${dir} has digest ${actual}.`, {
      hint: 'Re-export the layout; it was modified or corrupted.',
      details: { dir, expected: descriptor.digest, actual },
    });
  }
  return data;
}

export interface LayoutContent {
  /** digest → bytes, or the path of a file holding them (verified while copied). */
  blobs: Map<string, Buffer | string>;
  /** Entries of index.json; a refName becomes the org.opencontainers.image.ref.name annotation. */
  manifests: { descriptor: OciDescriptor; refName?: string }[];
}

async function writeBlob(dir: string, digest: string, source: Buffer | string): Promise<void> {
  const path = layoutBlobPath(dir, digest);
  const { algorithm } = digestParts(digest);
  // An existing blob with the right content is kept: layouts are content-addressed.
  if (await stat(path).then(() => true, () => false)) {
    if ((await hashFile(path, algorithm)) === digest) return;
  }
  await mkdir(join(dir, 'blobs', algorithm), { recursive: true });
  const verifier = new DigestVerifier(digest, { where: `the OCI image layout ${dir}`, hint: 'This is a bug in the caller: report it with the command that failed.' });
  if (typeof source !== 'string') {
    verifier.update(source);
    verifier.finish();
    await writeFileAtomic(path, source);
    return;
  }
  // Copied while verified, so a large layer never has to fit in memory.
  const temp = tempSibling(path);
  const handle = await open(temp, FS.O_WRONLY | FS.O_CREAT | FS.O_EXCL | FS.O_NOFOLLOW, 0o644);
  try {
    for await (const chunk of createReadStream(source) as AsyncIterable<Buffer>) {
      verifier.update(chunk);
      await handle.writeFile(chunk);
    }
    verifier.finish();
    await handle.sync();
    await rename(temp, path);
  } finally {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
  }
  await fsyncDir(join(dir, 'blobs', algorithm));
}

/**
 * Writes blobs first, then `oci-layout`, then `index.json` last, so a layout is only readable once
 * complete. Entries of an existing index.json are kept unless a new entry takes their ref name.
 */
export async function writeLayout(dir: string, content: LayoutContent): Promise<OciIndex> {
  try {
    await mkdir(dir, { recursive: true });
    for (const [digest, source] of content.blobs) await writeBlob(dir, digest, source);
    await writeFileAtomic(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION }));
    let previous: OciDescriptor[] = [];
    try {
      previous = (await readLayoutIndex(dir)).manifests;
    } catch {
      previous = [];
    }
    const fresh = content.manifests.map(({ descriptor, refName: name }) => {
      assertDigest(descriptor.digest, 'a manifest written into an OCI image layout');
      const annotations = { ...(descriptor.annotations ?? {}), ...(name === undefined ? {} : { [REF_NAME_ANNOTATION]: name }) };
      return { ...descriptor, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) };
    });
    const taken = new Set(fresh.map(refName).filter((n) => n !== undefined));
    const kept = previous.filter((d) => {
      const name = refName(d);
      return name === undefined ? !fresh.some((f) => f.digest === d.digest) : !taken.has(name);
    });
    const index: OciIndex = { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [...kept, ...fresh] };
    await writeFileAtomic(join(dir, 'index.json'), JSON.stringify(index));
    return index;
  } catch (error) {
    if (error instanceof EnvlockError) throw error;
    throw new EnvlockError('IO', `The OCI image layout ${dir} could not be written (${errnoCode(error) ?? String(error)}).`, {
      hint: 'Check that the directory is writable and the disk has space.',
      cause: error,
    });
  }
}
