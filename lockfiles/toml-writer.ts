// A deliberately small TOML emitter for the lockfile: only what the format uses (basic strings,
// integers, arrays, inline tables, bare keys), so every byte written is decided here (TOML 1.0).

const BARE_KEY = /^[A-Za-z0-9_-]+$/;
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f]/;

/**
 * A TOML basic string (toml.io/en/v1.0.0#string): `"` and `\` escaped, every control character
 * (U+0000-U+001F and U+007F) written as \uXXXX, everything else as itself in UTF-8.
 */
export function tomlString(value: string): string {
  // Nearly every string (digests, media types, names) has nothing to escape; a lock holds
  // thousands, written once per process, so the native test comes first.
  if (!NEEDS_ESCAPE.test(value)) return `"${value}"`;
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** A TOML integer; only safe, non-fractional numbers are representable in the lockfile. */
export function tomlInteger(value: number): string {
  if (!Number.isSafeInteger(value)) throw new TypeError(`cannot write ${value} as a lockfile integer`);
  return value === 0 ? '0' : String(value);
}

function key(name: string): string {
  if (!BARE_KEY.test(name)) throw new TypeError(`lockfile key ${JSON.stringify(name)} is not a bare key`);
  return name;
}

/** `key = value`, where the value is already TOML text. */
export function tomlPair(name: string, valueText: string): string {
  return `${key(name)} = ${valueText}`;
}

/** A one-line array of TOML values (already rendered): `["a", "b"]`, or `[]`. */
export function tomlArray(itemTexts: readonly string[]): string {
  return `[${itemTexts.join(', ')}]`;
}

/** A one-line array of strings. */
export function tomlStringArray(values: readonly string[]): string {
  return tomlArray(values.map(tomlString));
}

/** An inline table from ordered pairs of key and rendered value: `{ a = 1, b = "x" }`, or `{}`. */
export function tomlInlineTable(pairs: ReadonlyArray<readonly [string, string]>): string {
  if (pairs.length === 0) return '{}';
  return `{ ${pairs.map(([name, value]) => tomlPair(name, value)).join(', ')} }`;
}

/**
 * An array written one item per line with a trailing comma, so adding a layer changes one line
 * in a diff; an empty array stays on one line.
 */
export function tomlMultilineArray(name: string, itemTexts: readonly string[]): string {
  if (itemTexts.length === 0) return tomlPair(name, '[]');
  return `${key(name)} = [\n${itemTexts.map((item) => `  ${item},\n`).join('')}]`;
}

/** `[[name]]`: the header of one table in an array of tables. */
export function tomlArrayTableHeader(path: readonly string[]): string {
  return `[[${path.map(key).join('.')}]]`;
}
