// @iarna/toml, loaded at its first use rather than with the module that may need it: a lock is
// read without it (lockfiles/written-form.ts), and most runs parse no other TOML (no envlock.toml,
// no registries.conf), so they never pay for loading it. Resolved from node_modules like undici.

import { createRequire } from 'node:module';

type TomlParse = (text: string) => Record<string, unknown>;

let parse: TomlParse | undefined;

/** Parses TOML text with @iarna/toml; its errors (with `fromTOML`, `line`, `col`) pass through. */
export function parseToml(text: string): Record<string, unknown> {
  parse ??= (createRequire(import.meta.url)('@iarna/toml') as { parse: TomlParse }).parse;
  return parse(text);
}
