// ImageSource over an OCI image layout directory (image-spec image-layout.md): the tag is the
// org.opencontainers.image.ref.name annotation, and every manifest and whole blob read is verified.

import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { EnvlockError, errnoCode } from '../errors.js';
import { DigestVerifier } from '../oci/digest-verifier.js';
import { findInLayout, layoutBlobPath } from '../oci/layout.js';
import { checkManifest, MAX_MANIFEST_BYTES, verifyBlob, type ManifestDescriptor, type ResolvedManifest } from '../registry/manifest-check.js';
import type { LocalReference } from '../registry/reference.js';
import type { ImageSource, OpenedBlob } from './image-source.js';

export class LayoutSource implements ImageSource {
  readonly label: string;

  /** `dir` is the layout (for archives: where it was extracted); `label` names what the user wrote. */
  constructor(
    readonly reference: LocalReference,
    private readonly dir: string,
  ) {
    this.label = reference.canonical();
  }

  private missing(digest: string, cause: unknown): EnvlockError {
    return new EnvlockError('LAYOUT_INVALID', `The OCI image layout ${this.label} is missing the blob ${digest}.`, {
      hint: 'Re-export the layout; it is incomplete.',
      cause,
      details: { digest },
    });
  }

  private async readSmall(digest: string): Promise<Buffer> {
    const file = layoutBlobPath(this.dir, digest);
    try {
      const info = await stat(file);
      if (info.size > MAX_MANIFEST_BYTES) {
        throw new EnvlockError('MANIFEST_UNSUPPORTED', `The blob ${digest} in ${this.label} is larger than ${MAX_MANIFEST_BYTES} bytes.`, {
          hint: 'Check that the layout holds a container image.',
        });
      }
      return await readFile(file);
    } catch (error) {
      if (error instanceof EnvlockError) throw error;
      throw this.missing(digest, error);
    }
  }

  async resolve(): Promise<ResolvedManifest> {
    const descriptor = await findInLayout(this.dir, this.reference.tag);
    const resolved = await this.fetchManifest(descriptor.digest);
    if (resolved.body.length !== descriptor.size) {
      throw new EnvlockError('SIZE_MISMATCH', `The manifest ${descriptor.digest} in ${this.label} is ${resolved.body.length} bytes, not ${descriptor.size}.`, {
        hint: 'Re-export the layout; its index.json does not match its blobs.',
      });
    }
    return resolved;
  }

  async head(): Promise<ManifestDescriptor> {
    return (await this.resolve()).descriptor;
  }

  async fetchManifest(digest: string): Promise<ResolvedManifest> {
    const body = await this.readSmall(digest);
    return checkManifest({ body, expected: digest, requested: true, where: this.label });
  }

  async fetchBlobJSON<T = unknown>(digest: string): Promise<T> {
    const body = await this.readSmall(digest);
    verifyBlob(body, digest, this.label);
    try {
      return JSON.parse(body.toString('utf8')) as T;
    } catch (error) {
      throw new EnvlockError('LAYOUT_INVALID', `The blob ${digest} in ${this.label} is not valid JSON.`, {
        hint: 'Check that the layout holds a container image.',
        cause: error,
      });
    }
  }

  async openBlob(digest: string, offset = 0, signal?: AbortSignal): Promise<OpenedBlob> {
    const file = layoutBlobPath(this.dir, digest);
    let size: number;
    try {
      size = (await stat(file)).size;
    } catch (error) {
      throw this.missing(digest, error);
    }
    const start = Math.min(offset, size);
    const raw = createReadStream(file, { start, ...(signal === undefined ? {} : { signal }) });
    if (start > 0) return { stream: raw, offset: start, size };
    // A whole read is verified on the way, so a damaged layout fails before its end is used.
    const verify = new DigestVerifier(digest, { size, where: this.label, hint: 'Re-export the layout; it was modified or corrupted.' }).transform();
    raw.on('error', (error) => verify.destroy(errnoCode(error) === 'ABORT_ERR' ? error : this.missing(digest, error)));
    raw.pipe(verify);
    return { stream: verify, offset: 0, size };
  }

  async close(): Promise<void> {}
}
