// A pull with nothing to do: the plan of what a pull does (kept by the warm-pull fast path) and
// the read-only check that every part of it is already done. Light on purpose: the fast path
// (cli/fast/pull-warm.ts) bundles this file, so it must not import the parsers or the network.

import type { Context } from '../context.js';
import { findBlob } from '../store/find.js';
import { registrationIsCurrent } from '../store/registry.js';
import type { ImageForm } from '../store/find.js';
import type { Store } from '../store/store.js';
import type { Descriptor, LockedImage } from '../../lockfiles/model.js';
import type { PullImageResult } from './pull-image.js';
import { findPulled } from './pulled.js';

/**
 * What a pull of the project does, worked out from the declaration and the lock alone: which
 * locked images of which environments, and what to register. A function of the two files'
 * bytes, the options and this host's CPU, so the warm-pull fast path can keep it.
 */
export interface PullPlan {
  dir: string;
  lockPath: string;
  entries: { name: string; reference: string; resolved: string; images: LockedImage[]; index?: Descriptor }[];
  /** Every digest the lock uses: the store's registration of the lockfile. */
  used: string[];
  /** The image forms the pull took as done (its image-format setting); set once the store is known. */
  forms?: readonly ImageForm[];
}

export type PulledEnvironment = PullImageResult & { name: string };

/**
 * What pulling `plan` would report when it has nothing to do: every image already in a store,
 * every index kept (when online) and the lockfile registered as it is. Undefined otherwise.
 * Reads the store and changes nothing; the same checks pullProject makes first.
 */
export function warmPullResult(ctx: Pick<Context, 'offline' | 'env'>, store: Store, plan: PullPlan): PulledEnvironment[] | undefined {
  const environments: PulledEnvironment[] = [];
  // A plan recorded before image formats existed says nothing of them: pull in full.
  if (plan.forms === undefined) return undefined;
  for (const entry of plan.entries) {
    for (const image of entry.images) {
      const pulled = findPulled(store, image, plan.forms, ctx.env);
      if (pulled === undefined) return undefined;
      environments.push({ name: entry.name, ...pulled });
    }
    if (entry.index && !ctx.offline && findBlob(store, entry.index.digest) === undefined) return undefined;
  }
  return registrationIsCurrent(store, plan.lockPath, plan.used) ? environments : undefined;
}

