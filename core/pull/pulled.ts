// Whether a locked image is already pulled: the first step of every pull, and all a warm pull
// does. Kept apart from the downloader and unpacker so the warm-pull fast path (cli/fast/) can
// ask exactly the same question without loading them; change the rule here, for both.

import { findImage, type ImageForm } from '../store/find.js';
import type { Store } from '../store/store.js';
import { platformString, type LockedImage } from '../../lockfiles/model.js';
import type { PullImageResult } from './pull-image.js';

/** The result of pulling `image` when a store has it in one of `forms`; undefined when it must be pulled. */
export function findPulled(store: Store, image: LockedImage, forms: readonly ImageForm[]): PullImageResult | undefined {
  const ready = findImage(store, image.manifest.digest, { forms });
  if (ready === undefined) return undefined;
  return { platform: platformString(image.platform), manifest: image.manifest.digest, form: ready.form, rootfs: ready.path, unpacked: false, downloaded: [], reused: [], bytesDownloaded: 0 };
}
