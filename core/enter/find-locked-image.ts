// The one lookup of "where is the image this lock means", for run, shell, module wrappers, the
// prepared-run cache and the Slurm plugin: the stores' image of the locked manifest.

import type { LockedImage } from '../../lockfiles/model.js';
import { findRootfs } from '../store/find.js';
import type { Store } from '../store/store.js';
import type { ImageLocation } from './prepared.js';

/** The image of `image` in the stores (read-only ones first), or undefined when none has it. */
export function findLockedImage(store: Store, image: LockedImage): ImageLocation | undefined {
  const manifest = image.manifest.digest;
  const found = findRootfs(store, manifest);
  if (found === undefined) return undefined;
  const root = store.searchRoots().find((r) => found.startsWith(`${r}/`)) ?? store.root;
  return { form: 'tree', path: found, store: root, manifest };
}
