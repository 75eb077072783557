// Whether a locked image is already pulled: the first step of every pull, and all a warm pull
// does. Kept apart from the downloader and unpacker so the warm-pull fast path (cli/fast/) can
// ask exactly the same question without loading them; change the rule here, for both. It is
// run's own lookup (find-locked-image.ts): an entry counts only when its meta record names the
// lock's manifest, config and layers and, in a read-only store, no untrusted user can change it.

import type { Env } from '../context.js';
import { findLockedImage, type LookupResult } from '../enter/find-locked-image.js';
import { trustPolicy } from '../enter/store-trust.js';
import type { ImageForm } from '../store/find.js';
import type { Store } from '../store/store.js';
import { platformString, type LockedImage } from '../../lockfiles/model.js';
import type { PullImageResult } from './pull-image.js';

/** The lookup pull makes, over the forms this pull accepts. */
export function lookupPulled(store: Store, image: LockedImage, forms: readonly ImageForm[], env: Env): LookupResult {
  return findLockedImage(store, image, trustPolicy(env), forms);
}

export function pulledResult(image: LockedImage, found: { form: ImageForm; path: string }): PullImageResult {
  return { platform: platformString(image.platform), manifest: image.manifest.digest, form: found.form, rootfs: found.path, unpacked: false, downloaded: [], reused: [], bytesDownloaded: 0 };
}

/** The result of pulling `image` when a store has it in one of `forms`; undefined when it must be pulled. */
export function findPulled(store: Store, image: LockedImage, forms: readonly ImageForm[], env: Env): PullImageResult | undefined {
  const { found } = lookupPulled(store, image, forms, env);
  return found === undefined ? undefined : pulledResult(image, found);
}
