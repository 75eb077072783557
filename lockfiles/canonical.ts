// The canonical order of a lockfile model: what makes two locks of the same content byte-equal.
// Environments by name, images by platform then level (best last), every string set sorted.

import { compareCodePoints, compareKeys, sortedSet } from './compare.js';
import type { LockedEnvironment, LockedImage, Lockfile } from './model.js';
import { platformString } from './model.js';

/**
 * Images sort by platform string, then level (an image without a level first, so the most
 * demanding variant of a platform is last), then microarchitecture, features and manifest digest,
 * so that the order is total and never depends on the order the registry listed them in.
 */
export function imageSortKey(image: LockedImage): string[] {
  return [
    platformString(image.platform),
    image.arch.level ?? '',
    image.arch.microarch ?? '',
    image.arch.features.join(' '),
    image.manifest.digest,
  ];
}

function canonicalImage(image: LockedImage): LockedImage {
  const arch: LockedImage['arch'] = { features: sortedSet(image.arch.features) };
  if (image.arch.level !== undefined) arch.level = image.arch.level;
  if (image.arch.microarch !== undefined) arch.microarch = image.arch.microarch;
  return {
    platform: image.platform.variant === undefined
      ? { os: image.platform.os, architecture: image.platform.architecture }
      : { ...image.platform },
    manifest: { ...image.manifest },
    config: { ...image.config },
    // Layer order is the order they are applied in (image-spec manifest.md): never sorted.
    layers: image.layers.map((layer) => ({ ...layer })),
    arch,
  };
}

function canonicalEnvironment(env: LockedEnvironment): LockedEnvironment {
  const images = env.images.map(canonicalImage);
  images.sort((a, b) => compareKeys(imageSortKey(a), imageSortKey(b)));
  const out: LockedEnvironment = {
    name: env.name,
    reference: env.reference,
    resolved: env.resolved,
    platforms: sortedSet(env.platforms),
    host: { ...env.host, devices: sortedSet(env.host.devices), libraries: sortedSet(env.host.libraries) },
    images,
  };
  if (env.cpu !== undefined) out.cpu = env.cpu;
  if (env.index !== undefined) out.index = { ...env.index };
  return out;
}

/** A sorted deep copy; the input is not changed. */
export function canonicalLockfile(lock: Lockfile): Lockfile {
  const environments = lock.environments.map(canonicalEnvironment);
  environments.sort((a, b) => compareCodePoints(a.name, b.name));
  return { ...lock, environments };
}
