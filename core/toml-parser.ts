// @iarna/toml, loaded at its first use rather than with the module that may need it: a lock is
// read without it (lockfiles/written-form.ts), and most runs parse no other TOML, or only a
// registries.conf that is all comments (as distributions ship it), so they never pay for
// loading it. Resolved from node_modules like undici.

import { createRequire } from 'node:module';

type TomlParse = (text: string) => Record<string, unknown>;

let parse: TomlParse | undefined;

/** A blank line or a comment TOML accepts: no control character but tab. */
const BLANK_OR_COMMENT = /^[ \t]*(?:#[^\u0000-\u0008\u000a-\u001f\u007f]*)?$/;

/** Parses TOML text with @iarna/toml; its errors (with `fromTOML`, `line`, `col`) pass through. */
export function parseToml(text: string): Record<string, unknown> {
  // Nothing but comments and blank lines is the empty table; the parser is not needed for that.
  if (text.split('\n').every((line) => BLANK_OR_COMMENT.test(line))) return {};
  parse ??= (createRequire(import.meta.url)('@iarna/toml') as { parse: TomlParse }).parse;
  return parse(text);
}
