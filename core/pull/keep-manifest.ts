// Stores a manifest's or index's exact bytes as a blob (verified by the store like any other),
// so export can reproduce the image byte for byte without asking the registry again. The fetch
// happens inside the blob's lock, after the store was looked at again: N processes pulling one
// image ask the registry for its manifest once, as for its layers (Docker Hub counts manifest
// GETs against its pull limit).

import { Readable } from 'node:stream';
import type { ImageSource } from '../source/image-source.js';
import { findBlob } from '../store/find.js';
import type { Store } from '../store/store.js';
import type { Descriptor } from '../../lockfiles/model.js';

export async function keepManifestBytes(store: Store, descriptor: Descriptor, source: () => Promise<ImageSource>): Promise<void> {
  if (findBlob(store, descriptor.digest) !== undefined) return;
  const { ingestBlob } = await import('../store/blob-store.js');
  await ingestBlob(store, descriptor, async (_offset, signal) => {
    const fetched = await (await source()).fetchManifest(descriptor.digest, signal);
    return { stream: Readable.from([fetched.body]), offset: 0 };
  });
}
