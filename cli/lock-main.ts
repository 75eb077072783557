// The entry of the lock bundle (dist/bundle/lock.js, scripts/bundle.mjs): `envlock lock` as one
// CommonJS file, so locking loads one file instead of the full CLI's dozens of chunks, compiled
// from the user's code cache. It is main.ts itself, built with a command table that holds only
// `lock` (lock-command-table.ts); a command line whose command is anything else (the entry sends
// every one that mentions `lock`) goes on to the full CLI, so both answer every command line alike.

import { splitCommand } from './args.js';

// Kept in a variable so the bundler leaves it as a run-time import of the sibling file.
const FULL_CLI = './main.mjs';

if (splitCommand(process.argv.slice(2)).command === 'lock') void import('./main.js');
else void import(FULL_CLI);
