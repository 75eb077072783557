#!/usr/bin/env node
// Adds one uncompressed tar as a new top layer to the image in an OCI image layout (image-spec
// image-layout.md), for test/gpu/check.sh: the layout from scripts/build-example-image.mjs (an index
// of busybox images) becomes a single-platform image tagged `latest` with the host's glibc on top.
// Without a layout (no busybox on the host) it writes a fresh one-layer image. Node built-ins only.
// Usage: node test/gpu/add-layer.mjs LAYOUT_DIR LAYER_TAR ARCH   (ARCH: amd64, arm64, …)

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const INDEX = 'application/vnd.oci.image.index.v1+json';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const CONFIG = 'application/vnd.oci.image.config.v1+json';
const LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const CREATED = '2024-01-01T00:00:00Z';

const [layout, tarFile, arch] = process.argv.slice(2);
if (!layout || !tarFile || !arch) {
  process.stderr.write('usage: add-layer.mjs LAYOUT_DIR LAYER_TAR ARCH\n');
  process.exit(2);
}

const sha256 = (data) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const blobPath = (digest) => join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
const readJson = (digest) => JSON.parse(readFileSync(blobPath(digest), 'utf8'));

function writeBlob(data, mediaType) {
  const digest = sha256(data);
  writeFileSync(blobPath(digest), data);
  return { mediaType, digest, size: data.length };
}

/** The manifest for `arch` in the layout, following one level of index; undefined without a layout. */
function baseManifest() {
  const indexFile = join(layout, 'index.json');
  if (!existsSync(indexFile)) return undefined;
  let descriptor = JSON.parse(readFileSync(indexFile, 'utf8')).manifests[0];
  if (descriptor.mediaType === INDEX) {
    descriptor = readJson(descriptor.digest).manifests.find((m) => m.platform?.architecture === arch && m.platform?.os === 'linux');
    if (descriptor === undefined) throw new Error(`the layout in ${layout} has no linux/${arch} image`);
  }
  return readJson(descriptor.digest);
}

mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
const base = baseManifest();
const baseConfig = base === undefined
  ? { created: CREATED, os: 'linux', config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin'], Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: [] }, history: [] }
  : readJson(base.config.digest);

const tar = readFileSync(tarFile);
const layer = writeBlob(gzipSync(tar), LAYER_GZIP);
const config = {
  ...baseConfig,
  architecture: arch,
  os: 'linux',
  rootfs: { type: 'layers', diff_ids: [...baseConfig.rootfs.diff_ids, sha256(tar)] },
  history: [...(baseConfig.history ?? []), { created: CREATED, created_by: 'test/gpu/add-layer.mjs: host glibc and test programs' }],
};
// The base may describe another architecture's variant; this image is for `arch` only.
delete config.variant;
const configDescriptor = writeBlob(Buffer.from(JSON.stringify(config)), CONFIG);
const manifest = { schemaVersion: 2, mediaType: MANIFEST, config: configDescriptor, layers: [...(base?.layers ?? []), layer] };
const manifestDescriptor = writeBlob(Buffer.from(JSON.stringify(manifest)), MANIFEST);
writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
writeFileSync(join(layout, 'index.json'), JSON.stringify({
  schemaVersion: 2,
  mediaType: INDEX,
  manifests: [{ ...manifestDescriptor, platform: { architecture: arch, os: 'linux' }, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }],
}));
process.stdout.write(`${layout} latest ${manifestDescriptor.digest} (${manifest.layers.length} layers, linux/${arch})\n`);
