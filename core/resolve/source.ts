// What resolution needs from wherever images come from (a registry, an OCI layout, an archive):
// every manifest and JSON blob it returns has already been checked against its digest.

import type { Descriptor } from '../../lockfiles/model.js';

export interface ManifestLike {
  descriptor: Descriptor;
  body: Buffer;
  json: unknown;
}

export interface ResolveSource {
  /** The index or manifest the reference names. */
  resolve(): Promise<ManifestLike>;
  fetchManifest(descriptor: Descriptor): Promise<ManifestLike>;
  /** A small JSON blob (the image config), verified against the descriptor. */
  fetchJsonBlob(descriptor: Descriptor): Promise<unknown>;
}
