// Pushes built images to a registry over the distribution API with plain fetch (distribution-spec
// "Pushing blobs" monolithic POST then PUT ?digest=, and "Pushing Manifests").

import type { BuiltImage, BuiltIndex } from './image-builder.js';

export interface PushOptions {
  /** Sent as the Authorization header on every request (e.g. "Basic …" or "Bearer …"). */
  authorization?: string;
}

function headers(options: PushOptions, extra: Record<string, string> = {}): Record<string, string> {
  return { ...(options.authorization ? { authorization: options.authorization } : {}), ...extra };
}

async function expectStatus(response: Response, wanted: number[], what: string): Promise<void> {
  if (!wanted.includes(response.status)) {
    const body = await response.text().catch(() => '');
    throw new Error(`${what}: registry answered ${response.status} ${body.slice(0, 300)}`);
  }
}

/** Uploads one blob unless the registry already has it. */
export async function pushBlob(host: string, repo: string, digest: string, data: Buffer, options: PushOptions = {}): Promise<void> {
  const base = `http://${host}/v2/${repo}`;
  const head = await fetch(`${base}/blobs/${digest}`, { method: 'HEAD', headers: headers(options) });
  if (head.status === 200) return;
  const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST', headers: headers(options) });
  await expectStatus(start, [202], `starting the upload of ${digest} to ${repo}`);
  await start.arrayBuffer();
  const location = start.headers.get('location');
  if (!location) throw new Error(`starting the upload of ${digest}: no Location header`);
  const url = new URL(location, `http://${host}`);
  url.searchParams.set('digest', digest);
  const put = await fetch(url, {
    method: 'PUT',
    headers: headers(options, { 'content-type': 'application/octet-stream' }),
    body: new Uint8Array(data),
  });
  await expectStatus(put, [201], `uploading ${digest} to ${repo}`);
  await put.arrayBuffer();
}

/** PUTs manifest bytes under a tag or digest; returns the digest the registry reports. */
export async function pushManifest(host: string, repo: string, reference: string, bytes: Buffer, mediaType: string, options: PushOptions = {}): Promise<string> {
  const response = await fetch(`http://${host}/v2/${repo}/manifests/${reference}`, {
    method: 'PUT',
    headers: headers(options, { 'content-type': mediaType }),
    body: new Uint8Array(bytes),
  });
  await expectStatus(response, [201], `pushing manifest ${repo}:${reference}`);
  await response.arrayBuffer();
  return response.headers.get('docker-content-digest') ?? '';
}

/** Pushes an image's blobs and its manifest under `tag` (or only by digest when tag is undefined). */
export async function pushImage(host: string, repo: string, tag: string | undefined, image: BuiltImage, options: PushOptions = {}): Promise<string> {
  for (const [digest, data] of image.blobs) await pushBlob(host, repo, digest, data, options);
  const pushed = await pushManifest(host, repo, tag ?? image.digest, image.manifestBytes, image.descriptor.mediaType, options);
  if (pushed && pushed !== image.digest) throw new Error(`registry stored ${repo} manifest as ${pushed}, expected ${image.digest}`);
  return image.digest;
}

/** Pushes every image of an index by digest, then the index under `tag`. */
export async function pushIndex(host: string, repo: string, tag: string, index: BuiltIndex, images: readonly BuiltImage[] = index.images, options: PushOptions = {}): Promise<string> {
  for (const image of images) await pushImage(host, repo, undefined, image, options);
  const pushed = await pushManifest(host, repo, tag, index.indexBytes, index.descriptor.mediaType, options);
  if (pushed && pushed !== index.digest) throw new Error(`registry stored ${repo} index as ${pushed}, expected ${index.digest}`);
  return index.digest;
}
