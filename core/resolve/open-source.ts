// Opens image sources for a whole run (lock or pull): registry references share one pooled
// client, local layouts and archives open on their own. Everything is closed together.

import type { Context } from '../context.js';
import type { ImageReference } from '../registry/reference.js';
import type { RegistryClient } from '../registry/client.js';
import type { RegistryConfig } from '../registry/config.js';
import { openSource, parseImageReference, type ImageSource } from '../source/image-source.js';
import type { ResolveSource } from './source.js';

export interface OpenedSource {
  source: ResolveSource;
  image: ImageSource;
  reference: ImageReference;
  /** What the lock records as `resolved`: the canonical registry reference, or the local one as written. */
  resolvedName: string;
}

export interface SourceFactory {
  open(image: string, baseDir: string): Promise<OpenedSource>;
  close(): Promise<void>;
}

function adapt(image: ImageSource): ResolveSource {
  return {
    resolve: () => image.resolve(),
    fetchManifest: (d) => image.fetchManifest(d.digest),
    fetchJsonBlob: (d) => image.fetchBlobJSON(d.digest),
  };
}

/**
 * `metadataOnly`: the run fetches manifests and configs, never layers (lock), so its registry
 * client uses the small HTTP client instead of loading undici.
 */
export async function openSources(ctx: Context, options: { metadataOnly?: boolean } = {}): Promise<SourceFactory> {
  let client: Promise<RegistryClient> | undefined;
  // registries.conf and friends are read once per run, not once per environment.
  let config: Promise<RegistryConfig> | undefined;
  const opened: ImageSource[] = [];
  return {
    async open(text, baseDir) {
      // Unqualified names take registries.conf's first unqualified-search registry.
      const local = text.startsWith('oci:') || text.startsWith('oci-archive:');
      if (!local) config ??= import('../registry/config.js').then((m) => m.loadRegistryConfig(ctx));
      const reference = await parseImageReference(text, ctx, local ? { baseDir } : { baseDir, config: await config! });
      let image: ImageSource;
      if (reference.kind === 'registry') {
        const shared = await config!;
        client ??= import('../registry/client.js').then((m) => m.createRegistryClient(ctx, { config: shared, ...(options.metadataOnly ? { http: 'slim' as const } : {}) }));
        image = await openSource(reference, ctx, { client: await client });
      } else {
        image = await openSource(reference, ctx);
      }
      opened.push(image);
      return { source: adapt(image), image, reference, resolvedName: reference.kind === 'registry' ? reference.canonical() : text };
    },
    async close() {
      await Promise.allSettled(opened.map((s) => s.close()));
      if (client) await (await client.catch(() => undefined))?.close();
    },
  };
}
