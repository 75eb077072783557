// ImageSource: what lock and pull need from wherever an image lives (a registry, an OCI layout
// directory, an OCI archive), and openSource() that picks the implementation for a reference.

import type { Readable } from 'node:stream';
import type { Context } from '../context.js';
import type { RegistryClient } from '../registry/client.js';
import type { ManifestDescriptor, ResolvedManifest } from '../registry/manifest-check.js';
import type { RegistryConfig } from '../registry/config.js';
import { parseReference, type ImageReference } from '../registry/reference.js';

export type { ManifestDescriptor, ManifestDocument, ResolvedManifest } from '../registry/manifest-check.js';

export interface OpenedBlob {
  stream: Readable;
  /** Where the stream starts: the offset asked for, or 0 when the source could not seek. */
  offset: number;
  /** Total size of the blob, when known. */
  size?: number;
}

export interface ImageSource {
  readonly reference: ImageReference;
  /** Short text for messages: the canonical reference. */
  readonly label: string;
  /** The index or manifest the reference names, its bytes verified against its digest. */
  resolve(signal?: AbortSignal): Promise<ResolvedManifest>;
  /** Only the descriptor the reference names (a HEAD for registries: no pull counted, no body). */
  head(signal?: AbortSignal): Promise<ManifestDescriptor>;
  /** A manifest (or index) by digest from the same repository, verified. */
  fetchManifest(digest: string, signal?: AbortSignal): Promise<ResolvedManifest>;
  /** A small JSON blob (an image config) read whole and verified. */
  fetchBlobJSON<T = unknown>(digest: string, signal?: AbortSignal): Promise<T>;
  /**
   * A blob stream from `offset`. Registry streams are not hashed here: the caller hashes what it
   * stores (it must re-hash a partial file on resume anyway). Local sources verify whole reads.
   */
  openBlob(digest: string, offset?: number, signal?: AbortSignal, expectedSize?: number): Promise<OpenedBlob>;
  /** Releases connections or temporary files. */
  close(): Promise<void>;
}

export interface OpenSourceOptions {
  /** A shared client (one pooled Agent for a whole lock); created and owned by the source otherwise. */
  client?: RegistryClient;
}

/** Opens the source for a parsed reference. Modules are loaded lazily to keep start-up cheap. */
export async function openSource(ref: ImageReference, ctx: Context, options: OpenSourceOptions = {}): Promise<ImageSource> {
  switch (ref.kind) {
    case 'registry': {
      const { RegistrySource } = await import('./registry-source.js');
      if (options.client !== undefined) return new RegistrySource(ref, options.client, false);
      const { createRegistryClient } = await import('../registry/client.js');
      return new RegistrySource(ref, await createRegistryClient(ctx), true);
    }
    case 'oci-layout': {
      const { LayoutSource } = await import('./layout-source.js');
      return new LayoutSource(ref, ref.path);
    }
    case 'oci-archive': {
      const { openArchiveSource } = await import('./archive-source.js');
      return openArchiveSource(ref, ctx);
    }
  }
}

export interface ParseImageReferenceOptions {
  /** Directory relative oci:/oci-archive: paths are resolved against (the declaration's). */
  baseDir?: string;
  /** Already loaded configuration (RegistryClient.config); read from the files otherwise. */
  config?: RegistryConfig;
}

/**
 * Parses a reference as written by a user, sending unqualified names to the first
 * unqualified-search-registries entry of registries.conf (docker.io when there is none).
 */
export async function parseImageReference(input: string, ctx: Context, options: ParseImageReferenceOptions = {}): Promise<ImageReference> {
  const local = input.startsWith('oci:') || input.startsWith('oci-archive:');
  const baseDir = options.baseDir ?? ctx.cwd;
  if (local) return parseReference(input, { baseDir });
  const { loadRegistryConfig } = await import('../registry/config.js');
  const { defaultRegistryOf } = await import('../registry/endpoints.js');
  const config = options.config ?? (await loadRegistryConfig(ctx));
  const defaultRegistry = defaultRegistryOf(config);
  return parseReference(input, defaultRegistry === undefined ? { baseDir } : { baseDir, defaultRegistry });
}
