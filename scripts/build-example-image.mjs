#!/usr/bin/env node
// Builds examples/busybox-oci/: an OCI image layout (image-spec image-layout.md) holding a
// linux/amd64 + linux/arm64 index of a busybox rootfs, tagged `latest`. Node built-ins only, so it
// runs from a fresh clone before any build. Usage: node scripts/build-example-image.mjs [OUT_DIR]

import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'ls', 'cat', 'id', 'true', 'false', 'echo', 'env', 'sleep', 'whoami', 'pwd', 'uname', 'grep', 'head', 'mkdir', 'rm', 'touch', 'printf', 'test'];
const CREATED = '2024-01-01T00:00:00Z';

// --- a minimal ustar writer: short names only, mtime 0, owner root (POSIX ustar format) ---
const TYPES = { file: '0', symlink: '2', dir: '5' };

function octal(value, length) {
  return value.toString(8).padStart(length - 1, '0') + '\0';
}

function tarHeader({ path, type, mode, size, link = '' }) {
  if (Buffer.byteLength(path) > 100) throw new Error(`name too long for ustar: ${path}`);
  const h = Buffer.alloc(512);
  h.write(path, 0, 100);
  h.write(octal(mode, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(0, 12), 136);
  h.write(' '.repeat(8), 148);
  h.write(TYPES[type], 156);
  h.write(link, 157, 100);
  h.write('ustar\u000000', 257, 'latin1');
  h.write('root', 265);
  h.write('root', 297);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(octal(sum, 7) + ' ', 148);
  return h;
}

function tar(entries) {
  const parts = [];
  for (const e of entries) {
    const data = e.content ? Buffer.from(e.content) : Buffer.alloc(0);
    parts.push(tarHeader({ ...e, size: data.length }));
    if (data.length > 0) parts.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

// --- the rootfs: static busybox with relative applet links ---
function rootfs() {
  const dirs = ['bin/', 'dev/', 'etc/', 'home/', 'proc/', 'root/', 'sys/', 'tmp/', 'usr/', 'usr/bin/'];
  const modes = { 'tmp/': 0o1777, 'root/': 0o700, 'proc/': 0o555, 'sys/': 0o555 };
  return tar([
    ...dirs.map((path) => ({ path, type: 'dir', mode: modes[path] ?? 0o755 })),
    { path: 'bin/busybox', type: 'file', mode: 0o755, content: readFileSync(BUSYBOX) },
    ...APPLETS.map((name) => ({ path: `bin/${name}`, type: 'symlink', mode: 0o777, link: 'busybox' })),
    { path: 'etc/os-release', type: 'file', mode: 0o644, content: 'ID=envlock-example\nNAME="envlock example busybox"\nVERSION_ID=1\n' },
    { path: 'etc/passwd', type: 'file', mode: 0o644, content: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' },
    { path: 'etc/group', type: 'file', mode: 0o644, content: 'root:x:0:\nnogroup:x:65534:\n' },
  ]);
}

// --- OCI documents ---
const blobs = new Map();
const sha256 = (data) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

function addBlob(data, mediaType) {
  const digest = sha256(data);
  blobs.set(digest, data);
  return { mediaType, digest, size: data.length };
}

function addJson(value, mediaType) {
  return addBlob(Buffer.from(JSON.stringify(value)), mediaType);
}

function image(layerTar, layerDescriptor, platform) {
  const config = addJson({
    created: CREATED,
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin'], Cmd: ['/bin/sh'], WorkingDir: '/' },
    rootfs: { type: 'layers', diff_ids: [sha256(layerTar)] },
    history: [{ created: CREATED, created_by: 'scripts/build-example-image.mjs: busybox rootfs' }],
  }, 'application/vnd.oci.image.config.v1+json');
  const manifest = addJson({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config,
    layers: [layerDescriptor],
  }, 'application/vnd.oci.image.manifest.v1+json');
  return { ...manifest, platform };
}

function build(outDir) {
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing: install a static busybox (Debian: busybox-static)`);
  const layerTar = rootfs();
  // The arm64 entry reuses the same layer bytes: the example shows index structure, not an arm64 binary.
  const layer = addBlob(gzipSync(layerTar, { level: 9 }), 'application/vnd.oci.image.layer.v1.tar+gzip');
  const index = addJson({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      image(layerTar, layer, { architecture: 'amd64', os: 'linux' }),
      image(layerTar, layer, { architecture: 'arm64', os: 'linux', variant: 'v8' }),
    ],
  }, 'application/vnd.oci.image.index.v1+json');

  // Build beside the target and rename, so a reader never sees a half-written layout.
  const temp = `${outDir}.tmp-${randomBytes(4).toString('hex')}`;
  mkdirSync(join(temp, 'blobs', 'sha256'), { recursive: true });
  for (const [digest, data] of blobs) writeFileSync(join(temp, 'blobs', 'sha256', digest.slice('sha256:'.length)), data);
  writeFileSync(join(temp, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(temp, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ ...index, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }],
  }));
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(dirname(outDir), { recursive: true });
  renameSync(temp, outDir);
  return index.digest;
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(process.argv[2] ?? join(repoRoot, 'examples', 'busybox-oci'));
const digest = build(outDir);
process.stdout.write(`${outDir} latest ${digest}\n`);
