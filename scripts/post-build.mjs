// After tsc: make the CLI entry executable so `npm link` / `bin` work without a wrapper.
import { chmodSync, existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(entry)) chmodSync(entry, 0o755);
