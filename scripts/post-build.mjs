// After the build: make the CLI entry points executable so `bin` works without a wrapper.
import { chmodSync, existsSync } from 'node:fs';

for (const entry of ['../dist/bundle/envlock.js', '../dist/cli/main.js']) {
  const file = new URL(entry, import.meta.url);
  if (existsSync(file)) chmodSync(file, 0o755);
}
