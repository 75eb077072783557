// The one lookup of "where is the image this lock means", for run, shell, module wrappers, the
// prepared-run cache and the Slurm plugin. A store entry is used only when its meta record says
// it was built from exactly the lock's manifest, config and layers (issue 12.1), and an entry in
// a read-only store only when no untrusted user could have changed it (12.7, store-trust.ts).
// A tree's sampled files must still have the size and mtime recorded at pull (image-sample.ts).

import { readFileSync, statSync, type Stats } from 'node:fs';
import { EnvlockError } from '../errors.js';
import type { LockedImage } from '../../lockfiles/model.js';
import { findImage, type ImageForm } from '../store/find.js';
import { sampleChange, type SampledFile } from '../store/image-sample.js';
import type { Store } from '../store/store.js';
import { untrustedReason, type TrustPolicy } from './store-trust.js';
import type { ImageLocation } from './prepared.js';

/** A store entry that exists but may not be used, and why. */
export interface RejectedImage {
  store: string;
  path: string;
  readOnly: boolean;
  /** untrusted: others can write it; mismatch: built from something else; changed: altered since built. */
  kind: 'untrusted' | 'mismatch' | 'changed';
  reason: string;
}

export interface LookupResult {
  found?: ImageLocation;
  rejected: RejectedImage[];
}

interface Meta {
  manifestDigest?: unknown;
  config?: unknown;
  layers?: unknown;
  file?: { size?: unknown };
  sample?: unknown;
}

/** The meta record beside an image: rootfs/sha256/<hex>.json, squashfs/sha256/<hex>.json. */
export function metaPathOf(image: Pick<ImageLocation, 'form' | 'path'>): string {
  return `${image.form === 'squashfs' ? image.path.replace(/\.sqfs$/, '') : image.path}.json`;
}

/** Why the entry's meta does not prove it was built from `image`, or undefined when it does. */
function mismatch(meta: Meta | undefined, image: LockedImage, st: Stats, form: ImageLocation['form']): string | undefined {
  if (meta === undefined) return 'its meta record is missing or unreadable, so what it was built from is unknown';
  if (meta.manifestDigest !== image.manifest.digest) return `its meta record names manifest ${String(meta.manifestDigest)}`;
  if (meta.config !== image.config.digest) return `it was built with config ${String(meta.config)}, the lock says ${image.config.digest}`;
  const layers = Array.isArray(meta.layers) ? meta.layers.map((l) => (l as { digest?: unknown }).digest) : [];
  const wanted = image.layers.map((l) => l.digest);
  if (layers.length !== wanted.length || layers.some((d, i) => d !== wanted[i])) {
    return `it was built from ${layers.length} layer(s) that are not the ${wanted.length} the lock lists`;
  }
  if (form === 'squashfs' && meta.file?.size !== st.size) return `the file is ${st.size} bytes, its meta record says ${String(meta.file?.size)}`;
  return undefined;
}

/**
 * The image of `image` in the stores, read-only ones first, either form (findImage, the one
 * lookup of Decision 2); entries that exist but fail the meta match or (read-only stores) the
 * trust check are passed over and reported in `rejected`.
 */
export function findLockedImage(store: Store, image: LockedImage, trust: TrustPolicy, forms?: readonly ImageForm[]): LookupResult {
  const manifest = image.manifest.digest;
  const rejected: RejectedImage[] = [];
  let sample: SampledFile[] | undefined;
  const found = findImage(store, manifest, {
    ...(forms === undefined ? {} : { forms }),
    accept: (candidate, st) => {
      const metaPath = metaPathOf(candidate);
      const refuse = (kind: RejectedImage['kind'], reason: string): false => {
        rejected.push({ store: candidate.store, path: candidate.path, readOnly: candidate.readOnly, kind, reason });
        return false;
      };
      if (candidate.readOnly) {
        const reason = untrustedReason(candidate.store, [candidate.path, metaPath], trust);
        if (reason !== undefined) return refuse('untrusted', reason);
      }
      let meta: Meta | undefined;
      try {
        meta = JSON.parse(readFileSync(metaPath, 'utf8')) as Meta;
      } catch {
        meta = undefined;
      }
      const reason = mismatch(meta, image, st, candidate.form);
      if (reason !== undefined) return refuse('mismatch', reason);
      const changed = candidate.form === 'tree' ? sampleChange(candidate.path, meta!.sample) : undefined;
      if (changed !== undefined) return refuse('changed', changed);
      if (candidate.form === 'tree' && Array.isArray(meta!.sample)) sample = meta!.sample as SampledFile[];
      return true;
    },
  });
  if (found === undefined) return { rejected };
  return { found: { form: found.form, path: found.path, store: found.store, manifest, ...(sample === undefined ? {} : { sample }) }, rejected };
}

/**
 * What the prepared-run cache records of an image and re-checks at every hit with two stats:
 * the image and its meta, as they were. gc, repair and a re-pull replace one or the other.
 */
export function imageIdentity(image: Pick<ImageLocation, 'form' | 'path'>, stat: (file: string) => Stats = statSync): string {
  const one = (st: Stats): string => `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.mode}:${st.uid}`;
  return `${one(stat(image.path))}|${one(stat(metaPathOf(image)))}`;
}

/** The error for an entry that exists but may not be used (run, shell, pull alike). */
export function rejectedError(rejected: RejectedImage, image: LockedImage): EnvlockError {
  if (rejected.kind === 'untrusted') {
    return new EnvlockError('STORE_UNTRUSTED', `The read-only store ${rejected.store} is not used for ${image.manifest.digest}: ${rejected.reason}, so other users could change the image.`, {
      hint: `Ask the store's administrator to make it writable only by its owner (\`chmod -R go-w ${rejected.store}\`), or remove it from ENVLOCK_STORE_RO and run \`envlock pull\`.`,
      details: { ...rejected },
    });
  }
  if (rejected.kind === 'changed') {
    return new EnvlockError('STORE_DAMAGED', `The image ${rejected.path} was changed after it was pulled: ${rejected.reason}.`, {
      hint: rejected.readOnly ? `Ask the administrator of ${rejected.store} to run \`envlock verify\` and \`envlock pull --repair\` there, or remove that store from ENVLOCK_STORE_RO.` : 'Run `envlock verify` to see what changed, then `envlock pull --repair` to build it again.',
      details: { ...rejected, manifest: image.manifest.digest },
    });
  }
  return new EnvlockError('STORE_DAMAGED', `The store entry ${rejected.path} is not the image envlock.lock names: ${rejected.reason}.`, {
    hint: rejected.readOnly ? `Ask the administrator of ${rejected.store} to pull it again, or remove that store from ENVLOCK_STORE_RO.` : 'Run `envlock pull --repair` to build it again from the locked layers.',
    details: { ...rejected, manifest: image.manifest.digest },
  });
}
