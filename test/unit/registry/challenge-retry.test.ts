// WWW-Authenticate parsing, Retry-After parsing and the back-off bounds.

import { describe, expect, it } from 'vitest';
import { parseChallenges, pickChallenge } from '../../../core/registry/challenge.js';
import { backoffDelay, parseRetryAfter, retryDelay, sleep } from '../../../core/registry/retry.js';

describe('parseChallenges', () => {
  it('reads a Bearer challenge with a quoted scope containing commas', () => {
    const [c] = parseChallenges('Bearer realm="https://auth.example/token",service="reg.example",scope="repository:a/b:pull,push"');
    expect(c).toEqual({ scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'reg.example', scope: 'repository:a/b:pull,push' } });
  });

  it('splits several challenges and prefers Bearer over Basic', () => {
    const all = parseChallenges('Basic realm="Registry Realm", BEARER realm=https://t.example/x, service=svc');
    expect(all.map((c) => c.scheme)).toEqual(['basic', 'bearer']);
    expect(all[1]!.params).toEqual({ realm: 'https://t.example/x', service: 'svc' });
    expect(pickChallenge(all)?.scheme).toBe('bearer');
    expect(pickChallenge(parseChallenges('Negotiate'))).toBeUndefined();
  });

  it('handles escapes and odd spacing', () => {
    expect(parseChallenges('basic  realm = "a \\"q\\" b"')[0]!.params.realm).toBe('a "q" b');
  });
});

describe('Retry-After', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    const now = Date.parse('Sun, 29 Nov 2026 00:00:00 GMT');
    expect(parseRetryAfter('Sun, 29 Nov 2026 00:00:07 GMT', now)).toBe(7000);
    expect(parseRetryAfter('Sat, 28 Nov 2026 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('-1')).toBeUndefined();
  });

  it('caps what the server asks for, and backs off when it asks nothing', () => {
    const policy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 2000 };
    expect(retryDelay(0, '3600', policy)).toBe(2000);
    expect(retryDelay(0, '1', policy)).toBe(1000);
    expect(retryDelay(3, undefined, policy, () => 0.5)).toBe(400);
  });

  it('keeps full-jitter back-off within [0, min(cap, base*2^n)]', () => {
    const policy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    for (let attempt = 0; attempt < 8; attempt++) {
      const ceiling = Math.min(1000, 100 * 2 ** attempt);
      expect(backoffDelay(attempt, policy, () => 0)).toBe(0);
      expect(backoffDelay(attempt, policy, () => 0.999999)).toBe(ceiling - 1);
      for (let i = 0; i < 50; i++) {
        const d = backoffDelay(attempt, policy);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(ceiling);
      }
    }
  });

  it('sleep stops when the signal aborts', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const pending = sleep(10_000, controller.signal);
    setTimeout(() => controller.abort(new Error('stop')), 20);
    await expect(pending).rejects.toThrow('stop');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
