// Resolving one environment asks its source for each document once: a single-manifest image's
// config is read to learn its platform and is not fetched a second time to lock the image.

import { describe, expect, test } from 'vitest';
import { sha256Digest } from '../../../core/oci/digest.js';
import { MEDIA } from '../../../core/oci/media-types.js';
import { resolveEnvironment } from '../../../core/resolve/resolve-environment.js';
import type { ManifestLike, ResolveSource } from '../../../core/resolve/source.js';
import type { Descriptor } from '../../../lockfiles/model.js';
import { environmentDecl } from '../lockfiles/sample.js';

function document(mediaType: string, json: unknown): ManifestLike {
  const body = Buffer.from(JSON.stringify(json));
  return { descriptor: { mediaType, digest: sha256Digest(body), size: body.length }, body, json };
}

/** A source holding one single-platform image, counting what it is asked for. */
function singleManifestSource(diffIds: number) {
  const config = document(MEDIA.ociConfig, { os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: Array.from({ length: diffIds }, (_, i) => sha256Digest(`diff ${i}`)) } });
  const layer: Descriptor = { mediaType: MEDIA.ociLayerGzip, digest: sha256Digest('layer'), size: 10 };
  const manifest = document(MEDIA.ociManifest, { schemaVersion: 2, mediaType: MEDIA.ociManifest, config: config.descriptor, layers: [layer] });
  const asked: string[] = [];
  const source: ResolveSource = {
    resolve: async () => (asked.push('resolve'), manifest),
    fetchManifest: async (d) => (asked.push(`manifest ${d.digest}`), manifest),
    fetchJsonBlob: async (d) => (asked.push(`blob ${d.digest}`), config.json),
  };
  return { source, asked, manifest, config, layer };
}

describe('resolveEnvironment', () => {
  test('reads a single-manifest image\'s config once and locks it', async () => {
    const s = singleManifestSource(1);
    const env = environmentDecl({ name: 'one', image: 'registry.example/one:1', platforms: ['linux/amd64'] });
    const locked = await resolveEnvironment(env, s.source, { extraPlatforms: [], resolvedName: 'registry.example/one:1' });
    expect(s.asked).toEqual(['resolve', `blob ${s.config.descriptor.digest}`]);
    expect(locked.images).toHaveLength(1);
    expect(locked.images[0]).toMatchObject({ manifest: s.manifest.descriptor, config: s.config.descriptor, layers: [s.layer] });
    expect(locked.index).toBeUndefined();
  });

  test('still checks that config against the layers', async () => {
    const s = singleManifestSource(2);
    const env = environmentDecl({ name: 'one', image: 'registry.example/one:1', platforms: ['linux/amd64'] });
    await expect(resolveEnvironment(env, s.source, { extraPlatforms: [], resolvedName: 'registry.example/one:1' })).rejects.toMatchObject({
      code: 'REGISTRY_PROTOCOL',
      message: 'The config of registry.example/one:1 lists 2 diff_ids for 1 layers.',
    });
  });
});
