// What a locked image is made of, taken from its manifest's verified bytes and never from the
// lock alone (issue 12.1): the lock's config and layers must be exactly the manifest's, or
// nothing is pulled. An edited lock therefore cannot plant other layers under a genuine
// manifest digest, whichever source (registry, `oci:` layout, archive) or store serves it.

import { readFile } from 'node:fs/promises';
import { EnvlockError } from '../errors.js';
import { digestOf, digestParts } from '../oci/digest.js';
import { INDEX_TYPES } from '../oci/media-types.js';
import { checkManifest, type ManifestDocument } from '../registry/manifest-check.js';
import type { ImageSource } from '../source/image-source.js';
import { findBlob } from '../store/find.js';
import type { Store } from '../store/store.js';
import { platformString, type Descriptor, type LockedImage } from '../../lockfiles/model.js';
import { keepManifestBytes } from './keep-manifest.js';

/** The config and layers an image really has: what gets fetched, unpacked and recorded. */
export interface ImageContent {
  config: Descriptor;
  layers: Descriptor[];
}

/**
 * A small blob of the stores (a manifest, a config) read whole and hashed against its digest
 * here, at the moment it is trusted, whichever store it comes from.
 */
export async function readVerifiedBlob(store: Store, digest: string, what: string): Promise<Buffer> {
  const file = findBlob(store, digest);
  if (file === undefined) throw new EnvlockError('IMAGE_NOT_PULLED', `The ${what} ${digest} is in no store.`, { hint: 'Run `envlock pull` again.' });
  const body = await readFile(file);
  const actual = digestOf(body, digestParts(digest).algorithm);
  if (actual !== digest) {
    const own = file.startsWith(`${store.root}/`);
    throw new EnvlockError('STORE_DAMAGED', `The ${what} ${file} in the store hashes to ${actual}, not ${digest}.`, {
      hint: own ? 'Run `envlock pull --repair` to fetch it again.' : 'Ask the administrator of that read-only store to re-pull it, or remove the store from ENVLOCK_STORE_RO.',
      details: { path: file, expected: digest, actual },
    });
  }
  return body;
}

function descriptorOf(value: unknown): Descriptor | undefined {
  const d = value as Partial<Descriptor> | undefined;
  if (typeof d?.digest !== 'string' || typeof d.mediaType !== 'string' || typeof d.size !== 'number') return undefined;
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}

const same = (a: Descriptor, b: Descriptor) => a.digest === b.digest && a.size === b.size && a.mediaType === b.mediaType;
const describe = (d: Descriptor) => `${d.digest} (${d.size} bytes, ${d.mediaType})`;

/** The first way the lock's image differs from what its manifest says, in words; undefined when none. */
function disagreement(image: LockedImage, content: ImageContent): string | undefined {
  if (!same(image.config, content.config)) return `the config ${describe(image.config)}, where the manifest has ${describe(content.config)}`;
  if (image.layers.length !== content.layers.length) return `${image.layers.length} layer(s), where the manifest has ${content.layers.length}`;
  const i = image.layers.findIndex((layer, n) => !same(layer, content.layers[n]!));
  if (i >= 0) return `layer ${i + 1} as ${describe(image.layers[i]!)}, where the manifest has ${describe(content.layers[i]!)}`;
  return undefined;
}

/**
 * Keeps the manifest's bytes (fetched once, under the blob lock), hashes them against the
 * locked digest, and returns its config and layers, after checking that the lock lists exactly
 * those. `where` names the image in messages (its resolved reference).
 */
export async function lockedImageContent(store: Store, image: LockedImage, source: () => Promise<ImageSource>, where: string): Promise<ImageContent> {
  await keepManifestBytes(store, image.manifest, source);
  const body = await readVerifiedBlob(store, image.manifest.digest, 'manifest');
  const { descriptor, json } = checkManifest({ body, expected: image.manifest.digest, requested: true, where });
  const doc = json as ManifestDocument;
  const config = descriptorOf(doc.config);
  const layers = Array.isArray(doc.layers) ? doc.layers.map(descriptorOf) : [];
  const named = `the manifest ${image.manifest.digest} it names for ${where} (${platformString(image.platform)})`;
  if (INDEX_TYPES.includes(descriptor.mediaType) || config === undefined || layers.some((l) => l === undefined)) {
    throw new EnvlockError('LOCK_MANIFEST_MISMATCH', `envlock.lock does not match ${named}: that digest is not an image manifest with a well-formed config and layers.`, {
      hint: 'Nothing was pulled. Re-create the lock with `envlock lock`, and find out who edited it.',
      details: { manifest: image.manifest.digest },
    });
  }
  const content: ImageContent = { config, layers: layers as Descriptor[] };
  const why = disagreement(image, content);
  if (why !== undefined) {
    throw new EnvlockError('LOCK_MANIFEST_MISMATCH', `envlock.lock does not match ${named}: the lock lists ${why}.`, {
      hint: 'Nothing was pulled. A lock that disagrees with its own manifest was edited or damaged; re-create it with `envlock lock`, and find out who edited it.',
      details: { manifest: image.manifest.digest, locked: { config: image.config, layers: image.layers }, inManifest: content },
    });
  }
  return content;
}
