// When and how long to wait before retrying a registry request: Retry-After (RFC 9110 section 10.2.3,
// delta-seconds or HTTP-date) and capped exponential back-off with full jitter.

export interface RetryPolicy {
  /** Total attempts, the first included. */
  attempts: number;
  /** Back-off base: attempt n waits up to base * 2^n. */
  baseDelayMs: number;
  /** Cap on one back-off wait and on an honoured Retry-After. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 250, maxDelayMs: 30_000 };

/** Statuses that mean "try again later" (distribution-spec 429; gateway errors). */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/**
 * Connection-level failures worth another attempt. Timeouts are not among them: a registry that
 * stayed silent for the whole timeout is not waited for again (five waits made 2 min 35 s of
 * silence); the next mirror is asked, or the command stops with REGISTRY_TIMEOUT.
 */
export const RETRY_ERRNOS: ReadonlySet<string> = new Set([
  'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED',
]);

/** Milliseconds a Retry-After value asks for, or undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP-date must name a weekday and a time zone; Date.parse is too lenient alone.
  if (!/^[A-Za-z]{3},/.test(text) && !/GMT$/.test(text)) return undefined;
  const when = Date.parse(text);
  if (Number.isNaN(when)) return undefined;
  return Math.max(0, when - now);
}

/** Full jitter (AWS architecture blog "Exponential Backoff and Jitter"): uniform in [0, min(cap, base*2^n)]. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

/** The wait before the next attempt: the server's Retry-After (capped) wins over back-off. */
export function retryDelay(attempt: number, retryAfter: string | undefined, policy: RetryPolicy, random?: () => number): number {
  const asked = parseRetryAfter(retryAfter);
  if (asked !== undefined) return Math.min(asked, policy.maxDelayMs);
  return backoffDelay(attempt, policy, random);
}

/** Resolves after ms, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
