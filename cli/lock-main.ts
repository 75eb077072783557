// The entry of the lock bundle (dist/bundle/lock.mjs, scripts/bundle.mjs): `envlock lock` as one
// ES module, so locking loads one file instead of the full CLI's dozens of chunks. It is main.ts
// itself, built with a command table that holds only `lock` (lock-command-table.ts); a command
// line whose command is anything else (the entry sends every one that mentions `lock`) goes on to
// the full CLI, so both bundles answer every command line the same way.

import { splitCommand } from './args.js';

// Kept in a variable so the bundler leaves it as a run-time import of the sibling file.
const FULL_CLI = './main.mjs';

if (splitCommand(process.argv.slice(2)).command === 'lock') await import('./main.js');
else await import(FULL_CLI);
