// A run answered from the prepared-run cache: the one piece that both the full `run` command and
// the entry's fast path (cli/fast/run-prepared.ts) call, so a hit builds the same spec whichever
// way envlock was started. Everything it checks is in prepared-cache.ts.

import type { Context } from '../context.js';
import type { LaunchSpec } from '../runtime/spec.js';
import { cacheSlot, cachedEnvironment, readCache, type CacheSlot } from './prepared-cache.js';
import { pickEnvironmentName } from './pick-environment.js';
import { launchSpecFor, type Invocation } from './prepared.js';

/** The words after `run` as cli/args.ts splits them (passThroughAfter 1). */
export interface RunWords {
  /** At most one: an environment's name, or the command's first word. */
  positionals: string[];
  /** The command (or the rest of it), after `--` or after the first positional. */
  rest: string[];
  /** `run NAME -- CMD`: then the positional must be an environment's name. */
  sawDoubleDash: boolean;
}

export interface PreparedHit {
  spec: LaunchSpec;
  argv: string[];
}

/**
 * The launch spec of this run from the cache, or undefined when there is no entry that still
 * holds (the caller then plans the run in full). `invocation` turns the command into the
 * per-invocation part (flags); an unknown environment name throws as the full run would.
 */
export function preparedRunHit(ctx: Context, words: RunWords, invocation: (command: string[]) => Invocation, slot: CacheSlot | undefined = cacheSlot(ctx)): PreparedHit | undefined {
  const cache = slot === undefined ? undefined : readCache(slot);
  if (slot === undefined || cache === undefined) return undefined;
  const first = words.positionals[0];
  const picked = pickEnvironmentName(cache.environments, slot.declarationFile, first, words.sawDoubleDash && first !== undefined, 'run');
  const prepared = cachedEnvironment(cache, picked.name, slot, ctx.env);
  if (prepared === undefined) return undefined;
  const command = [...(picked.consumedName ? [] : words.positionals), ...words.rest];
  return launchSpecFor(prepared, invocation(command), ctx);
}
