// The registry client's tests again, over the small HTTP client that `envlock lock` uses
// (core/registry/slim-http.ts): every status, digest, redirect, auth, retry and timeout case
// must come out the same as over undici.

import { afterAll } from 'vitest';

(globalThis as { envlockTestRegistryHttp?: 'slim' }).envlockTestRegistryHttp = 'slim';
afterAll(() => {
  delete (globalThis as { envlockTestRegistryHttp?: 'slim' }).envlockTestRegistryHttp;
});
await import('./client.test.js');
