// Builds real OCI images and indexes in memory for tests (image-spec manifest.md, config.md,
// image-index.md): every blob with its digest, every descriptor with its size.

import { createHash } from 'node:crypto';
import { gzip, zstd } from './tar-writer.js';

export { busyboxLayer, BUSYBOX_APPLETS } from './busybox-layer.js';
export { pushBlob, pushImage, pushIndex, pushManifest } from './registry-push.js';

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const OCI_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
  features?: string[];
}

/** The `config` object of an image config (config.md "Properties"). */
export interface RunConfig {
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  User?: string;
  Labels?: Record<string, string>;
  [key: string]: unknown;
}

/** A layer blob given as it goes on the wire (hostile compression streams), with its DiffID. */
export interface PrebuiltLayer {
  blob: Buffer;
  mediaType: string;
  diffId: string;
}

export interface BuildImageOptions {
  /** Uncompressed tar archives (compressed as `compression` says) or prebuilt blobs, lowest layer first. */
  layers: Array<Buffer | PrebuiltLayer>;
  compression?: 'gzip' | 'none' | 'zstd';
  config?: RunConfig;
  platform: Platform;
  annotations?: Record<string, string>;
  /** Written into history entries, so two otherwise equal images get distinct configs. */
  createdBy?: string;
}

export interface BuiltImage {
  manifest: Record<string, unknown>;
  manifestBytes: Buffer;
  digest: string;
  /** The manifest's descriptor, without a platform (buildIndex adds one). */
  descriptor: Descriptor;
  config: Record<string, unknown>;
  configBytes: Buffer;
  configDescriptor: Descriptor;
  layers: Descriptor[];
  /** Uncompressed layer digests, in order (config rootfs.diff_ids). */
  diffIds: string[];
  /** Config and layer blobs by digest (the manifest itself is not included). */
  blobs: Map<string, Buffer>;
  platform: Platform;
}

export interface BuiltIndex {
  index: Record<string, unknown>;
  indexBytes: Buffer;
  digest: string;
  descriptor: Descriptor;
  images: BuiltImage[];
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Serialises as the bytes that will be hashed and pushed (compact JSON, insertion order). */
export function jsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

// The same layer Buffer is often reused across images (platforms, variants): compress it once.
const compressed = { gzip: new WeakMap<Buffer, Buffer>(), zstd: new WeakMap<Buffer, Buffer>() };

function compress(tar: Buffer, compression: 'gzip' | 'none' | 'zstd'): { data: Buffer; mediaType: string } {
  if (compression === 'none') return { data: tar, mediaType: OCI_LAYER };
  let data = compressed[compression].get(tar);
  if (!data) {
    data = compression === 'gzip' ? gzip(tar) : zstd(tar);
    compressed[compression].set(tar, data);
  }
  return { data, mediaType: compression === 'gzip' ? OCI_LAYER_GZIP : OCI_LAYER_ZSTD };
}

export function buildImage(options: BuildImageOptions): BuiltImage {
  const compression = options.compression ?? 'gzip';
  const blobs = new Map<string, Buffer>();
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const tar of options.layers) {
    if (!Buffer.isBuffer(tar)) {
      diffIds.push(tar.diffId);
      const digest = sha256(tar.blob);
      blobs.set(digest, tar.blob);
      layers.push({ mediaType: tar.mediaType, digest, size: tar.blob.length });
      continue;
    }
    diffIds.push(sha256(tar));
    const { data, mediaType } = compress(tar, compression);
    const digest = sha256(data);
    blobs.set(digest, data);
    layers.push({ mediaType, digest, size: data.length });
  }
  const { os, architecture, variant } = options.platform;
  const config: Record<string, unknown> = {
    created: '2024-01-01T00:00:00Z',
    architecture,
    os,
    ...(variant ? { variant } : {}),
    ...(options.platform['os.features'] ? { 'os.features': options.platform['os.features'] } : {}),
    config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin'], ...(options.config ?? {}) },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: diffIds.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `${options.createdBy ?? 'envlock test image-builder'} layer ${i}` })),
  };
  const configBytes = jsonBytes(config);
  const configDescriptor: Descriptor = { mediaType: OCI_CONFIG, digest: sha256(configBytes), size: configBytes.length };
  blobs.set(configDescriptor.digest, configBytes);
  const manifest: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: configDescriptor,
    layers,
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  const manifestBytes = jsonBytes(manifest);
  const digest = sha256(manifestBytes);
  return {
    manifest,
    manifestBytes,
    digest,
    descriptor: { mediaType: OCI_MANIFEST, digest, size: manifestBytes.length },
    config,
    configBytes,
    configDescriptor,
    layers,
    diffIds,
    blobs,
    platform: options.platform,
  };
}

export interface IndexEntry {
  image: BuiltImage;
  /** Defaults to the image's own platform. */
  platform?: Platform;
  /** Written into platform.features (image-index.md reserves it; envlock reads CPU features there). */
  features?: string[];
  annotations?: Record<string, string>;
}

export function buildIndex(entries: readonly IndexEntry[], annotations?: Record<string, string>): BuiltIndex {
  const manifests: Descriptor[] = entries.map((entry) => {
    const platform: Platform = { ...(entry.platform ?? entry.image.platform) };
    if (entry.features) platform.features = [...entry.features];
    return { ...entry.image.descriptor, platform, ...(entry.annotations ? { annotations: entry.annotations } : {}) };
  });
  const index: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests,
    ...(annotations ? { annotations } : {}),
  };
  const indexBytes = jsonBytes(index);
  const digest = sha256(indexBytes);
  return {
    index,
    indexBytes,
    digest,
    descriptor: { mediaType: OCI_INDEX, digest, size: indexBytes.length },
    images: entries.map((e) => e.image),
  };
}
