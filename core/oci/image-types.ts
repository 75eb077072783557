// The OCI image-spec documents envlock reads and writes, typed loosely: the fields envlock uses,
// with everything else kept (descriptor.md, image-index.md, manifest.md).

export interface OciPlatform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
  /** Reserved by image-index.md; envlock reads CPU features here. */
  features?: string[];
}

export interface OciDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: OciPlatform;
  annotations?: Record<string, string>;
  urls?: string[];
  artifactType?: string;
}

export interface OciIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: OciDescriptor[];
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/** image-spec annotations.md: the tag of a manifest inside an image layout's index.json. */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
