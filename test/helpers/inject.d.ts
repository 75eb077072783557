// Types of the values the global setup provides to e2e tests through vitest's `inject`.

import type { TestImageDigests } from './standard-images.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** "127.0.0.1:PORT" of the shared registry without auth. */
    registry: string;
    /** Digests of the standard images (standard-images.ts). */
    testImages: TestImageDigests;
  }
}
