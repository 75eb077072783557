// Retries a blob download after failures that a second attempt can cure (a reset connection, a
// truncated or corrupted transfer, a timeout). The store keeps the partial file between attempts,
// so a retry resumes with Range; a wrong blob is never installed, whatever happens.

import { EnvlockError, isEnvlockError, type ErrorCode } from '../errors.js';
import { backoffDelay, sleep } from '../registry/retry.js';

const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['REGISTRY_UNREACHABLE', 'REGISTRY_TIMEOUT', 'REGISTRY_PROTOCOL', 'SIZE_MISMATCH', 'DIGEST_MISMATCH', 'IO']);

export interface RetryOptions {
  attempts?: number;
  signal?: AbortSignal;
  onRetry?: (error: EnvlockError, attempt: number) => void;
  /** Base delay in ms before the second attempt (doubles each time, with jitter). */
  baseDelayMs?: number;
}

export async function withBlobRetries<T>(work: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 4;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const retry = isEnvlockError(error) && RETRYABLE.has(error.code) && attempt < attempts && options.signal?.aborted !== true;
      if (!retry) throw error;
      options.onRetry?.(error, attempt);
      // The registry client's back-off (full jitter) and its abortable sleep: Ctrl-C ends the wait.
      await sleep(backoffDelay(attempt, { attempts, baseDelayMs: options.baseDelayMs ?? 200, maxDelayMs: 5_000 }), options.signal);
    }
  }
}
