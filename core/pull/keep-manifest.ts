// Stores a manifest's or index's exact bytes as a blob (verified by the store like any other),
// so export can reproduce the image byte for byte without asking the registry again.

import { Readable } from 'node:stream';
import type { ImageSource } from '../source/image-source.js';
import { findBlob } from '../store/find.js';
import type { Store } from '../store/store.js';
import type { Descriptor } from '../../lockfiles/model.js';

export async function keepManifestBytes(store: Store, descriptor: Descriptor, source: () => Promise<ImageSource>): Promise<void> {
  if (findBlob(store, descriptor.digest) !== undefined) return;
  const { ingestBlob } = await import('../store/blob-store.js');
  const fetched = await (await source()).fetchManifest(descriptor.digest);
  await ingestBlob(store, descriptor, async () => ({ stream: Readable.from([fetched.body]), offset: 0 }));
}
