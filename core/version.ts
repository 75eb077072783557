// envlock's own version, read from package.json beside the built or source tree.

import { readFileSync } from 'node:fs';
import path from 'node:path';

// scripts/bundle.mjs writes the version over this placeholder, so a bundled envlock reads no file
// for it (a repeated `envlock run` keys its cache by it); tsc output and sources read package.json.
const STAMPED = '@@ENVLOCK_VERSION@@';

let cached: string | undefined;

export function envlockVersion(): string {
  if (cached !== undefined) return cached;
  if (!STAMPED.startsWith('@@')) return (cached = STAMPED);
  // Source (core/), tsc output (dist/core/), the bundle's entry (dist/bundle/) and its chunks
  // (dist/bundle/chunks/) sit at different depths below the package root. A plain path, not a
  // URL: this runs on the fast paths, where URL handling is a measurable part of start-up.
  for (const relative of ['..', '../..', '../../..']) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(import.meta.dirname, relative, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'envlock' && typeof pkg.version === 'string') return (cached = pkg.version);
    } catch {
      // try the next candidate
    }
  }
  return (cached = '0.0.0');
}
