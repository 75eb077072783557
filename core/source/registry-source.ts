// ImageSource over a registry: a thin adapter from the source interface to RegistryClient.

import type { RegistryClient } from '../registry/client.js';
import type { ManifestDescriptor, ResolvedManifest } from '../registry/manifest-check.js';
import type { RegistryReference } from '../registry/reference.js';
import type { ImageSource, OpenedBlob } from './image-source.js';

export class RegistrySource implements ImageSource {
  readonly label: string;

  constructor(
    readonly reference: RegistryReference,
    private readonly client: RegistryClient,
    private readonly ownsClient: boolean,
  ) {
    this.label = reference.canonical();
  }

  resolve(signal?: AbortSignal): Promise<ResolvedManifest> {
    return this.client.resolveManifest(this.reference, signal);
  }

  head(signal?: AbortSignal): Promise<ManifestDescriptor> {
    return this.client.headManifest(this.reference, signal);
  }

  fetchManifest(digest: string, signal?: AbortSignal): Promise<ResolvedManifest> {
    return this.client.getManifest(this.reference, digest, signal);
  }

  fetchBlobJSON<T = unknown>(digest: string, signal?: AbortSignal): Promise<T> {
    return this.client.getBlobJSON<T>(this.reference, digest, signal);
  }

  openBlob(digest: string, offset = 0, signal?: AbortSignal, expectedSize?: number): Promise<OpenedBlob> {
    return this.client.getBlob(this.reference, digest, { offset, signal, expectedSize });
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }
}
