// Checks a manifest body before anything trusts it: its digest (always recomputed from the exact
// bytes), its size cap, that it is JSON, and that it is an image index or image manifest.

import { EnvlockError } from '../errors.js';
import { digestOf, digestParts, isDigest } from '../oci/digest.js';
import { INDEX_TYPES, MANIFEST_TYPES, MEDIA } from '../oci/media-types.js';

/** containerd's MaxManifestSize: larger documents are refused before parsing. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface ManifestDescriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** The parts of an index or manifest envlock reads; the rest is kept but untyped. */
export interface ManifestDocument {
  schemaVersion?: number;
  mediaType?: string;
  manifests?: (ManifestDescriptor & { platform?: Record<string, unknown>; annotations?: Record<string, string> })[];
  config?: ManifestDescriptor;
  layers?: ManifestDescriptor[];
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export interface ResolvedManifest {
  descriptor: ManifestDescriptor;
  body: Buffer;
  json: ManifestDocument;
}

export interface CheckInit {
  body: Buffer;
  /** The digest asked for (by-digest fetch) or announced (Docker-Content-Digest); may be undefined for tags. */
  expected?: string;
  /** Whether `expected` came from the request (true) or from a response header (false). */
  requested: boolean;
  contentType?: string;
  /** For messages: "REF at REGISTRY". */
  where: string;
}

function mismatch(init: CheckInit, actual: string): EnvlockError {
  const source = init.requested ? 'requested' : 'announced in Docker-Content-Digest';
  return new EnvlockError('DIGEST_MISMATCH', `The manifest of ${init.where} has digest ${actual}, not the ${source} ${init.expected}.`, {
    hint: 'The registry or a proxy altered the content; try again, or use another mirror.',
    details: { expected: init.expected, actual, size: init.body.length },
  });
}

/** Verifies the digest, then parses and classifies the document. */
export function checkManifest(init: CheckInit): ResolvedManifest {
  const { body } = init;
  if (body.length > MAX_MANIFEST_BYTES) {
    throw new EnvlockError('MANIFEST_UNSUPPORTED', `The manifest of ${init.where} is larger than ${MAX_MANIFEST_BYTES} bytes.`, {
      hint: 'Check that the reference names a container image.',
    });
  }
  let digest: string;
  if (init.expected !== undefined && isDigest(init.expected)) {
    digest = digestOf(body, digestParts(init.expected).algorithm);
    if (digest !== init.expected) throw mismatch(init, digest);
  } else {
    digest = digestOf(body);
  }
  let json: ManifestDocument;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    json = parsed as ManifestDocument;
  } catch (error) {
    throw new EnvlockError('REGISTRY_PROTOCOL', `The manifest of ${init.where} is not a JSON object.`, {
      hint: 'Check that the reference names a container image.',
      cause: error,
    });
  }
  const mediaType = classify(json, init);
  return { descriptor: { mediaType, digest, size: body.length }, body, json };
}

function bareType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  return contentType.split(';')[0]!.trim().toLowerCase();
}

function classify(json: ManifestDocument, init: CheckInit): string {
  const unsupported = (why: string): EnvlockError =>
    new EnvlockError('MANIFEST_UNSUPPORTED', `The manifest of ${init.where} ${why}.`, {
      hint: 'Use a reference to an OCI or Docker (schema 2) container image or image index.',
    });
  // CVE-2021-41190: a document must not be both an index and a manifest.
  if (json.manifests !== undefined && (json.layers !== undefined || json.config !== undefined)) {
    throw unsupported('is ambiguous: it has both `manifests` and `layers`/`config`');
  }
  const header = bareType(init.contentType);
  let mediaType = typeof json.mediaType === 'string' ? json.mediaType : undefined;
  if (mediaType === undefined) {
    if (header !== undefined && [...INDEX_TYPES, ...MANIFEST_TYPES].includes(header)) mediaType = header;
    else if (Array.isArray(json.manifests)) mediaType = MEDIA.ociIndex;
    else if (json.config !== undefined && Array.isArray(json.layers)) mediaType = MEDIA.ociManifest;
  }
  if (json.schemaVersion === 1 || (mediaType ?? header ?? '').includes('prettyjws')) {
    throw unsupported('uses the Docker schema 1 format, which is no longer supported');
  }
  if (mediaType === undefined) throw unsupported(`has an unknown media type ${JSON.stringify(header ?? '')}`);
  // distribution-spec "Pulling manifests": a mediaType in the body must agree with Content-Type.
  // Only a known manifest Content-Type is compared; some servers send application/json.
  const known = [...INDEX_TYPES, ...MANIFEST_TYPES];
  if (header !== undefined && known.includes(header) && known.includes(mediaType) && header !== mediaType) {
    throw new EnvlockError('REGISTRY_PROTOCOL', `The manifest of ${init.where} says it is ${mediaType}, but was served as ${header}.`, {
      hint: 'Report this to the registry operator; envlock does not guess which one is right.',
    });
  }
  if (!INDEX_TYPES.includes(mediaType) && !MANIFEST_TYPES.includes(mediaType)) {
    throw unsupported(`has media type ${mediaType}, which is neither an image index nor an image manifest`);
  }
  if (INDEX_TYPES.includes(mediaType) && !Array.isArray(json.manifests)) throw unsupported('is an index without a `manifests` list');
  if (MANIFEST_TYPES.includes(mediaType) && (json.config === undefined || !Array.isArray(json.layers))) {
    throw unsupported('is an image manifest without `config` and `layers`');
  }
  return mediaType;
}

/** Hashes a complete blob and throws DIGEST_MISMATCH unless it matches. */
export function verifyBlob(body: Buffer, expected: string, where: string): void {
  const actual = digestOf(body, digestParts(expected).algorithm);
  if (actual !== expected) {
    throw new EnvlockError('DIGEST_MISMATCH', `The blob ${expected} of ${where} has digest ${actual}.`, {
      hint: 'The registry or a proxy altered the content; try again, or use another mirror.',
      details: { expected, actual, size: body.length },
    });
  }
}
