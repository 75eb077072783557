// Dispatch for the fast paths. Each one either proves its answer from small files and returns
// it, or returns undefined so the full CLI runs. A fast path never fails on its own: anything
// unexpected means "no answer", and the full CLI then does the work and the talking.

import { envlockVersion } from '../../core/version.js';
import { successEnvelope } from '../output/envelope.js';
import { lockCheckAnswer } from './lock-check.js';
import { writeStdout } from './output.js';
import { warmPullAnswer } from './pull-warm.js';

import type { Env, FastAnswer } from './types.js';

function version(argv: readonly string[]): FastAnswer | undefined {
  const json = argv.length === 2 && argv.includes('--json');
  if (!argv.includes('--version') || argv.length !== (json ? 2 : 1)) return undefined;
  const v = envlockVersion();
  return { stdout: json ? successEnvelope(undefined, { version: v }) : `${v}\n`, exitCode: 0 };
}

const FAST_PATHS: ((argv: readonly string[], env: Env) => FastAnswer | undefined)[] = [version, lockCheckAnswer, warmPullAnswer];

/** True when a fast path answered (its output is written and the exit status set). */
export function answerFast(argv: readonly string[], env: Env): boolean {
  let answer: FastAnswer | undefined;
  try {
    for (const fast of FAST_PATHS) if ((answer = fast(argv, env)) !== undefined) break;
  } catch {
    answer = undefined;
  }
  if (answer === undefined) return false;
  try {
    writeStdout(answer.stdout);
    process.exitCode = answer.exitCode;
  } catch {
    // stdout is gone (a closed pipe): as with any command, the answer is lost and that fails.
    process.exitCode = 1;
  }
  return true;
}
