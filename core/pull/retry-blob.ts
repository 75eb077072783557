// Retries a blob download after failures that a second attempt can cure (a reset connection, a
// truncated or corrupted transfer, a timeout). The store keeps the partial file between attempts,
// so a retry resumes with Range; a wrong blob is never installed, whatever happens. What is
// counted is attempts in a row that got nowhere: a stream cut every few megabytes still
// finishes, because each attempt brings the blob further.

import { EnvlockError, isEnvlockError, type ErrorCode } from '../errors.js';
import { backoffDelay, sleep } from '../registry/retry.js';

const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['REGISTRY_UNREACHABLE', 'REGISTRY_TIMEOUT', 'REGISTRY_PROTOCOL', 'SIZE_MISMATCH', 'DIGEST_MISMATCH', 'IO']);

/** Attempts in a row without progress before a blob download gives up (docs/registries.md). */
export const BLOB_ATTEMPTS = 5;

export interface RetryOptions {
  /** Attempts in a row that make no progress before giving up (default BLOB_ATTEMPTS). */
  attempts?: number;
  signal?: AbortSignal;
  onRetry?: (error: EnvlockError, failures: number) => void;
  /** Base delay in ms before the second attempt (doubles each time, with jitter). */
  baseDelayMs?: number;
  /** A measure that grows when an attempt gets further (the bytes the blob has reached). */
  progress?: () => number;
  /** How much it must grow for an attempt to count as progress (default 1). */
  minProgress?: number;
}

export async function withBlobRetries<T>(work: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? BLOB_ATTEMPTS;
  let failures = 0;
  let mark = options.progress?.() ?? 0;
  for (;;) {
    try {
      return await work();
    } catch (error) {
      const reached = options.progress?.() ?? 0;
      const advanced = reached - mark >= (options.minProgress ?? 1);
      if (advanced) mark = reached;
      failures = advanced ? 1 : failures + 1;
      // A registry that stayed silent for the whole timeout gets no second wait of the same kind.
      const silent = isEnvlockError(error) && error.code === 'REGISTRY_TIMEOUT' && !advanced;
      const retry = isEnvlockError(error) && RETRYABLE.has(error.code) && !silent && failures < attempts && options.signal?.aborted !== true;
      if (!retry) throw error;
      options.onRetry?.(error, failures);
      // The registry client's back-off (full jitter) and its abortable sleep: Ctrl-C ends the wait.
      await sleep(backoffDelay(failures, { attempts, baseDelayMs: options.baseDelayMs ?? 200, maxDelayMs: 5_000 }), options.signal);
    }
  }
}
