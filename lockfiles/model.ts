// The validated lockfile model. The wire form (TOML) lives in wire.ts; this is what code uses.

export const LOCKFILE_VERSION = 1;
export const LOCKFILE_NAME = 'envlock.lock';

export interface Descriptor {
  mediaType: string;
  /** "sha256:<64 hex>" (or sha512). */
  digest: string;
  size: number;
}

export interface LockedPlatform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ArchFlags {
  /** x86-64 psABI level (x86-64-v1…v4) or arm64 level (armv8.0-a…) the variant needs, if known. */
  level?: string;
  /** Named microarchitecture the variant targets, when the index says so (e.g. "haswell"). */
  microarch?: string;
  /** CPU features the variant needs, sorted, lower-case as in /proc/cpuinfo names. */
  features: string[];
}

/** One runnable image: a manifest for one platform (and CPU variant). */
export interface LockedImage {
  platform: LockedPlatform;
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  arch: ArchFlags;
}

export interface LockedHostRequest {
  devices: string[];
  gpu: string;
  mpi: string;
  libraries: string[];
}

export interface LockedEnvironment {
  name: string;
  /** The reference as declared. */
  reference: string;
  /** The fully qualified reference it resolved as (registry/repo:tag, or oci:DIR:TAG). */
  resolved: string;
  /** The index (manifest list) digest when the reference named one. */
  index?: Descriptor;
  /** Platforms as declared (normalised); empty when the host's platform was used. */
  platforms: string[];
  cpu?: string;
  host: LockedHostRequest;
  /** Sorted by platform string then by level (best last). */
  images: LockedImage[];
}

export interface Lockfile {
  version: typeof LOCKFILE_VERSION;
  envlockVersion: string;
  /** "sha256:<hex>" over the normalised, resolution-relevant declaration (see declaration-hash.ts). */
  declarationHash: string;
  /** Sorted by name. */
  environments: LockedEnvironment[];
}

export function platformString(p: LockedPlatform): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}
