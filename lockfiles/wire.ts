// The lockfile as it appears in envlock.lock: kebab-case TOML keys, platforms as strings. Kept
// apart from the model (model.ts) so the file's spelling can change without touching callers.

import type { Descriptor, LockedEnvironment, LockedImage, LockedPlatform, Lockfile } from './model.js';
import { LOCKFILE_VERSION, platformString } from './model.js';

export interface WireDescriptor {
  'media-type': string;
  digest: string;
  size: number;
}

export interface WireHost {
  devices: string[];
  gpu: string;
  mpi: string;
  libraries: string[];
}

export interface WireImage {
  platform: string;
  manifest: WireDescriptor;
  config: WireDescriptor;
  level?: string;
  microarch?: string;
  features: string[];
  layers: WireDescriptor[];
}

export interface WireEnvironment {
  name: string;
  reference: string;
  resolved: string;
  platforms: string[];
  cpu?: string;
  host: WireHost;
  index?: WireDescriptor;
  image: WireImage[];
}

export interface WireLockfile {
  version: number;
  'envlock-version': string;
  'declaration-hash': string;
  environment: WireEnvironment[];
}

// Every key each table may hold, in the order the writer emits them. The parser rejects any
// other key: the file is machine-written, so an unknown key means damage or a newer format.
export const TOP_KEYS = ['version', 'envlock-version', 'declaration-hash', 'environment'] as const;
export const ENVIRONMENT_KEYS = ['name', 'reference', 'resolved', 'platforms', 'cpu', 'host', 'index', 'image'] as const;
export const HOST_KEYS = ['devices', 'gpu', 'mpi', 'libraries'] as const;
export const IMAGE_KEYS = ['platform', 'manifest', 'config', 'level', 'microarch', 'features', 'layers'] as const;
export const DESCRIPTOR_KEYS = ['media-type', 'digest', 'size'] as const;

export function descriptorToWire(d: Descriptor): WireDescriptor {
  return { 'media-type': d.mediaType, digest: d.digest, size: d.size };
}

export function descriptorFromWire(d: WireDescriptor): Descriptor {
  return { mediaType: d['media-type'], digest: d.digest, size: d.size };
}

/** "os/arch[/variant]" -> the structured platform; the string was checked by the parser. */
export function platformFromString(text: string): LockedPlatform {
  const [os, architecture, variant] = text.split('/') as [string, string, string | undefined];
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

function imageToWire(image: LockedImage): WireImage {
  const wire: WireImage = {
    platform: platformString(image.platform),
    manifest: descriptorToWire(image.manifest),
    config: descriptorToWire(image.config),
    features: [...image.arch.features],
    layers: image.layers.map(descriptorToWire),
  };
  if (image.arch.level !== undefined) wire.level = image.arch.level;
  if (image.arch.microarch !== undefined) wire.microarch = image.arch.microarch;
  return wire;
}

function imageFromWire(wire: WireImage): LockedImage {
  const arch: LockedImage['arch'] = { features: [...wire.features] };
  if (wire.level !== undefined) arch.level = wire.level;
  if (wire.microarch !== undefined) arch.microarch = wire.microarch;
  return {
    platform: platformFromString(wire.platform),
    manifest: descriptorFromWire(wire.manifest),
    config: descriptorFromWire(wire.config),
    layers: wire.layers.map(descriptorFromWire),
    arch,
  };
}

function environmentToWire(env: LockedEnvironment): WireEnvironment {
  const wire: WireEnvironment = {
    name: env.name,
    reference: env.reference,
    resolved: env.resolved,
    platforms: [...env.platforms],
    host: { devices: [...env.host.devices], gpu: env.host.gpu, mpi: env.host.mpi, libraries: [...env.host.libraries] },
    image: env.images.map(imageToWire),
  };
  if (env.cpu !== undefined) wire.cpu = env.cpu;
  if (env.index !== undefined) wire.index = descriptorToWire(env.index);
  return wire;
}

function environmentFromWire(wire: WireEnvironment): LockedEnvironment {
  const env: LockedEnvironment = {
    name: wire.name,
    reference: wire.reference,
    resolved: wire.resolved,
    platforms: [...wire.platforms],
    host: { devices: [...wire.host.devices], gpu: wire.host.gpu, mpi: wire.host.mpi, libraries: [...wire.host.libraries] },
    images: wire.image.map(imageFromWire),
  };
  if (wire.cpu !== undefined) env.cpu = wire.cpu;
  if (wire.index !== undefined) env.index = descriptorFromWire(wire.index);
  return env;
}

export function lockfileToWire(lock: Lockfile): WireLockfile {
  return {
    version: lock.version,
    'envlock-version': lock.envlockVersion,
    'declaration-hash': lock.declarationHash,
    environment: lock.environments.map(environmentToWire),
  };
}

/** The wire form, already validated (version included), as the model. */
export function lockfileFromWire(wire: WireLockfile): Lockfile {
  return {
    version: LOCKFILE_VERSION,
    envlockVersion: wire['envlock-version'],
    declarationHash: wire['declaration-hash'],
    environments: wire.environment.map(environmentFromWire),
  };
}
