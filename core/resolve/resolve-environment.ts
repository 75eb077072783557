// Resolves one declared environment to a LockedEnvironment: the index (if any), the manifest
// for each declared platform and CPU variant, its config and every layer, all verified.

import type { EnvironmentDecl } from '../declaration/model.js';
import { EnvlockError } from '../errors.js';
import { INDEX_TYPES, MANIFEST_TYPES, layerCompression } from '../oci/media-types.js';
import { hostPlatform, hostPlatformString } from '../arch/host.js';
import { selectFromIndex, selectSingleManifest, type IndexManifest, type LockCandidate, type OciPlatform } from '../arch/select.js';
import { environmentInputs } from '../../lockfiles/declaration-hash.js';
import type { Descriptor, LockedEnvironment, LockedImage } from '../../lockfiles/model.js';
import { compareCodePoints } from '../../lockfiles/compare.js';
import { platformString } from '../../lockfiles/model.js';
import type { ManifestLike, ResolveSource } from './source.js';

interface ManifestJson {
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  annotations?: Record<string, string>;
}

interface ConfigJson {
  os?: string;
  architecture?: string;
  variant?: string;
  rootfs?: { type?: string; diff_ids?: string[] };
}

function kindOf(fetched: ManifestLike): 'index' | 'manifest' {
  const declared = fetched.descriptor.mediaType || (fetched.json as { mediaType?: string }).mediaType || '';
  if (INDEX_TYPES.includes(declared)) return 'index';
  if (MANIFEST_TYPES.includes(declared)) return 'manifest';
  // An OCI manifest may omit mediaType: an index has `manifests`, a manifest has `config`.
  const json = fetched.json as { manifests?: unknown; config?: unknown };
  if (Array.isArray(json.manifests)) return 'index';
  if (json.config !== undefined) return 'manifest';
  throw new EnvlockError('MANIFEST_UNSUPPORTED', `The manifest ${fetched.descriptor.digest} is of unsupported type ${JSON.stringify(declared)}.`, {
    hint: 'envlock reads OCI image indexes and manifests and Docker manifest lists and v2 manifests.',
  });
}

function descriptor(d: Descriptor | undefined, what: string, reference: string): Descriptor {
  if (!d || typeof d.digest !== 'string' || typeof d.size !== 'number' || typeof d.mediaType !== 'string') {
    throw new EnvlockError('REGISTRY_PROTOCOL', `The manifest of ${reference} has a malformed ${what} descriptor.`, { hint: 'Rebuild or re-push the image.' });
  }
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}

/** A config already fetched (and verified) for this resolution, by its digest. */
interface KnownConfig {
  digest: string;
  json: ConfigJson;
}

async function lockImage(candidate: LockCandidate, source: ResolveSource, reference: string, checked: ReadonlyMap<string, string>, knownManifest?: ManifestLike, knownConfig?: KnownConfig): Promise<LockedImage> {
  const fetched = knownManifest ?? (await source.fetchManifest(candidate.manifest));
  if (kindOf(fetched) !== 'manifest') {
    throw new EnvlockError('MANIFEST_UNSUPPORTED', `The index of ${reference} points at a nested index for ${platformString(candidate.platform)}.`, { hint: 'Point the declaration at the inner index or a single manifest.' });
  }
  const json = fetched.json as ManifestJson;
  const config = descriptor(json.config, 'config', reference);
  const layers = (json.layers ?? []).map((layer, i) => descriptor(layer, `layer ${i}`, reference));
  for (const layer of layers) {
    if (layerCompression(layer.mediaType) === undefined) {
      throw new EnvlockError('LAYER_MEDIA_TYPE', `A layer of ${reference} has media type ${layer.mediaType}, which envlock cannot unpack.`, { hint: 'Use an image whose layers are tar, tar+gzip or tar+zstd.' });
    }
  }
  // The config is fetched only to check it against the manifest; a pair an earlier lock of this
  // envlock version already checked is the same bytes (both named by digest), so it is not
  // fetched again. Pull checks every config and layer against the manifest in any case.
  if (checked.get(candidate.manifest.digest) !== config.digest) {
    const configJson = knownConfig?.digest === config.digest ? knownConfig.json : ((await source.fetchJsonBlob(config)) as ConfigJson);
    const diffIds = configJson.rootfs?.diff_ids ?? [];
    if (diffIds.length !== layers.length) {
      throw new EnvlockError('REGISTRY_PROTOCOL', `The config of ${reference} lists ${diffIds.length} diff_ids for ${layers.length} layers.`, { hint: 'The image is malformed; rebuild or re-push it.' });
    }
  }
  return { platform: candidate.platform, manifest: { ...candidate.manifest, mediaType: fetched.descriptor.mediaType || candidate.manifest.mediaType }, config, layers, arch: candidate.arch };
}

export interface ResolveOptions {
  /** Platforms added for this run (`lock --platform`), on top of the declared ones. */
  extraPlatforms: string[];
  /** The fully qualified form of the reference, recorded as `resolved`. */
  resolvedName: string;
  /**
   * Manifest digest to config digest, for the pairs a lock written by this version of envlock
   * already checked (its images): their configs need not be fetched again.
   */
  checkedConfigs?: ReadonlyMap<string, string>;
}

export async function resolveEnvironment(env: EnvironmentDecl, source: ResolveSource, options: ResolveOptions): Promise<LockedEnvironment> {
  const inputs = environmentInputs(env);
  const declared = env.platforms.length > 0 ? env.platforms : [hostPlatformString(hostPlatform())];
  const platforms = [...new Set([...declared, ...options.extraPlatforms])];
  const top = await source.resolve();
  const cpu = env.cpu === undefined ? {} : { cpu: env.cpu };
  let choices;
  let single: ManifestLike | undefined;
  let singleConfig: KnownConfig | undefined;
  if (kindOf(top) === 'index') {
    const manifests = ((top.json as { manifests?: IndexManifest[] }).manifests ?? []).filter((m) => MANIFEST_TYPES.includes(m.mediaType) || m.mediaType === undefined);
    choices = selectFromIndex({ reference: env.image, manifests, platforms, ...cpu });
  } else {
    single = top;
    const json = top.json as ManifestJson;
    const config = descriptor(json.config, 'config', env.image);
    const configJson = (await source.fetchJsonBlob(config)) as ConfigJson;
    // lockImage needs the same config again: it is not fetched twice.
    singleConfig = { digest: config.digest, json: configJson };
    const platform: OciPlatform = { os: configJson.os ?? '', architecture: configJson.architecture ?? '', ...(configJson.variant ? { variant: configJson.variant } : {}) };
    choices = selectSingleManifest({ reference: env.image, manifest: top.descriptor, platform, platforms, ...cpu, ...(json.annotations ? { annotations: json.annotations } : {}) });
  }
  const unique = new Map<string, LockCandidate>();
  for (const choice of choices) for (const candidate of choice.candidates) if (!unique.has(candidate.manifest.digest)) unique.set(candidate.manifest.digest, candidate);
  const checked = options.checkedConfigs ?? new Map<string, string>();
  const images = await Promise.all([...unique.values()].map((c) => lockImage(c, source, env.image, checked, single, singleConfig)));
  images.sort((a, b) => compareCodePoints(platformString(a.platform), platformString(b.platform)) || compareCodePoints(a.manifest.digest, b.manifest.digest));
  const locked: LockedEnvironment = {
    name: env.name,
    reference: inputs.image,
    resolved: options.resolvedName,
    platforms: inputs.platforms,
    host: inputs.host,
    images,
  };
  if (inputs.cpu !== undefined) locked.cpu = inputs.cpu;
  if (single === undefined) locked.index = top.descriptor;
  return locked;
}
