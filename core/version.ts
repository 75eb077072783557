// envlock's own version, read from package.json beside the built or source tree.

import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function envlockVersion(): string {
  if (cached !== undefined) return cached;
  // Source (core/), tsc output (dist/core/) and bundle chunks (dist/bundle/chunks/) sit at
  // different depths below the package root.
  for (const relative of ['../package.json', '../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'envlock' && typeof pkg.version === 'string') return (cached = pkg.version);
    } catch {
      // try the next candidate
    }
  }
  return (cached = '0.0.0');
}
