// The `bin` of envlock: answers the few commands that job scripts repeat from small files when
// it can prove the answer is current, and hands everything else to the full CLI (main.ts).
// This file holds only the dispatch: each fast path is its own small CommonJS bundle beside it
// (scripts/bundle.mjs), loaded only for a command line that may be its own, so a repeated
// `envlock run` pays for Node, this file and the run path, and nothing else. Nothing here or in
// the fast paths may load undici, ink or a parser.

import type { answerFast } from './fast/answer.js';
import { requireWithCodeCache } from './fast/code-cache.js';
import type { enterPrepared } from './fast/run-prepared.js';

// Kept in variables so the bundler leaves them as run-time loads of the sibling files.
const FULL_CLI = './main.mjs';
// `envlock lock` has a bundle of its own (cli/lock-main.ts), holding only what locking loads.
const LOCK_CLI = 'lock';
const FAST_RUN = 'fast-run';
const FAST_ANSWERS = './fast-answers.js';

/** True when a fast path answered; a prepared run does not return at all. */
function answered(argv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  if (env.ENVLOCK_NO_FAST_PATH === '1') return false;
  try {
    // A prepared run replaces this process here; it returns when the cache has no answer.
    if (argv.includes('run')) {
      // Compiled from this user's code cache: the run path runs code once per process, so
      // compiling it is a large part of its cost (cli/fast/code-cache.ts).
      const fast = requireWithCodeCache<{ enterPrepared: typeof enterPrepared }>(__dirname, FAST_RUN, env, require);
      fast.exports.enterPrepared(argv, env, fast.save);
    }
    // Only `lock --check` of the lock commands has a fast answer: a plain lock goes straight on.
    if (argv.some((word) => word === '--version' || word === 'pull' || (word === 'lock' && argv.includes('--check')))) {
      return (require(FAST_ANSWERS) as { answerFast: typeof answerFast }).answerFast(argv, env);
    }
  } catch {
    // not answered: the full CLI runs, and explains
  }
  return false;
}

if (!answered(process.argv.slice(2), process.env)) {
  if (process.argv.includes('lock')) {
    // Compiled from this user's code cache too, which is brought up to date as the lock ends.
    const lock = requireWithCodeCache<unknown>(__dirname, LOCK_CLI, process.env, require, (specifier) => import(specifier));
    process.once('exit', lock.save);
  } else {
    void import(FULL_CLI);
  }
}
