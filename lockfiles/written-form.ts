// Reads envlock.lock when it is exactly in the form serializeLockfile writes (write.ts), which is
// what every lock is unless edited by hand, in a fraction of a full TOML parser's time. Anything
// else (other spacing, comments after values, other escapes, unknown keys, a repeated key, floats,
// dates) returns undefined, and the caller parses the text with @iarna/toml, so such files get
// the same document or the same error as before. For the text it accepts, the document is the
// one @iarna/toml returns (test/unit/lockfiles/written-form.test.ts compares them).

import { DESCRIPTOR_KEYS, ENVIRONMENT_KEYS, HOST_KEYS, IMAGE_KEYS } from './wire.js';

type Table = Record<string, unknown>;

/** Keys each table may hold as `key = value` lines; arrays of tables are headers, never pairs. */
const TOP_PAIRS: readonly string[] = ['version', 'envlock-version', 'declaration-hash'];
const ENVIRONMENT_PAIRS: readonly string[] = ENVIRONMENT_KEYS.filter((k) => k !== 'image');
const IMAGE_PAIRS: readonly string[] = IMAGE_KEYS;
const INLINE_KEYS: readonly string[] = [...DESCRIPTOR_KEYS, ...HOST_KEYS];

const BARE_KEY = /[A-Za-z0-9_-]+/y;
const BASIC_STRING = /"(?:[^"\\\u0000-\u001f\u007f]|\\["\\]|\\u[0-9A-Fa-f]{4})*"/y;
const INTEGER = /-?(?:0|[1-9][0-9]*)/y;
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/** Not the writer's form: the caller falls back to the full parser. */
class Unwritten extends Error {}
const UNWRITTEN = new Unwritten();

function table(): Table {
  // No prototype, as @iarna/toml's tables: a key can never reach Object.prototype.
  return Object.create(null) as Table;
}

/** A cursor over one line of text. */
class Line {
  pos = 0;
  constructor(readonly text: string) {}

  expect(literal: string): void {
    if (!this.text.startsWith(literal, this.pos)) throw UNWRITTEN;
    this.pos += literal.length;
  }

  peek(): string {
    return this.text[this.pos] ?? '';
  }

  key(allowed: readonly string[]): string {
    BARE_KEY.lastIndex = this.pos;
    const name = BARE_KEY.exec(this.text)?.[0] ?? '';
    if (!allowed.includes(name)) throw UNWRITTEN;
    this.pos += name.length;
    return name;
  }

  /**
   * A basic string as tomlString writes it: `\"`, `\\` and `\uXXXX` escapes, no raw control
   * characters. Such a string is also a JSON string with the same value, so JSON.parse decodes it
   * (natively: this runs once per process, before V8 would have compiled a loop over characters).
   */
  string(): string {
    BASIC_STRING.lastIndex = this.pos;
    const token = BASIC_STRING.exec(this.text)?.[0];
    if (token === undefined) throw UNWRITTEN;
    this.pos += token.length;
    if (!token.includes('\\')) return token.slice(1, -1);
    // TOML refuses an escaped surrogate (JSON would take it).
    if (SURROGATE_ESCAPE.test(token)) throw UNWRITTEN;
    return JSON.parse(token) as string;
  }

  /** A decimal integer as tomlInteger writes it: no sign but `-`, no leading zeros, no `_`. */
  integer(): number {
    INTEGER.lastIndex = this.pos;
    const match = INTEGER.exec(this.text);
    if (match === null || match[0] === '-0') throw UNWRITTEN;
    const value = Number(match[0]);
    // Beyond 2^53 @iarna/toml gives a bigint; leave those to it.
    if (!Number.isSafeInteger(value)) throw UNWRITTEN;
    this.pos += match[0].length;
    // `1.5`, `1e3`, `2026-01-01`: not an integer after all.
    if (/[0-9A-Za-z_.:+-]/.test(this.peek())) throw UNWRITTEN;
    return value;
  }

  /** `["a", "b"]` or `[]`. */
  stringArray(): string[] {
    this.expect('[');
    const items: string[] = [];
    if (this.peek() === ']') {
      this.pos++;
      return items;
    }
    for (;;) {
      items.push(this.string());
      if (this.peek() === ']') {
        this.pos++;
        return items;
      }
      this.expect(', ');
    }
  }

  /** `{ k = v, k = v }` or `{}`, values strings, integers or string arrays. */
  inlineTable(): Table {
    const out = table();
    if (this.text.startsWith('{}', this.pos)) {
      this.pos += 2;
      return out;
    }
    this.expect('{ ');
    for (;;) {
      const name = this.key(INLINE_KEYS);
      if (name in out) throw UNWRITTEN;
      this.expect(' = ');
      out[name] = this.scalarOrArray();
      if (this.text.startsWith(' }', this.pos)) {
        this.pos += 2;
        return out;
      }
      this.expect(', ');
    }
  }

  scalarOrArray(): unknown {
    const first = this.peek();
    if (first === '"') return this.string();
    if (first === '[') return this.stringArray();
    return this.integer();
  }

  end(): void {
    if (this.pos !== this.text.length) throw UNWRITTEN;
  }
}

function isComment(text: string): boolean {
  // TOML forbids control characters other than tab in comments; leave every odd one to the parser.
  return text.startsWith('#') && !/[\u0000-\u001f\u007f]/.test(text);
}

function readDocument(text: string): Table {
  if (text.includes('\r')) throw UNWRITTEN;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const top = table();
  const environments: Table[] = [];
  let current = top;
  let allowed = TOP_PAIRS;
  let environment: Table | undefined;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    if (text === '' || isComment(text)) continue;
    if (text === '[[environment]]') {
      if (!('environment' in top)) top.environment = environments;
      environment = table();
      environments.push(environment);
      current = environment;
      allowed = ENVIRONMENT_PAIRS;
      continue;
    }
    if (text === '[[environment.image]]') {
      if (environment === undefined) throw UNWRITTEN;
      const images = (environment.image ??= []) as Table[];
      current = table();
      images.push(current);
      allowed = IMAGE_PAIRS;
      continue;
    }
    const line = new Line(text);
    const name = line.key(allowed);
    if (name in current) throw UNWRITTEN;
    line.expect(' = ');
    if (text.length === line.pos + 1 && line.peek() === '[') {
      // The writer's one-item-per-line array of inline tables, closed by a line `]`.
      const items: Table[] = [];
      for (i++; lines[i] !== ']'; i++) {
        if (i >= lines.length) throw UNWRITTEN;
        const item = new Line(lines[i]!);
        item.expect('  ');
        items.push(item.inlineTable());
        item.expect(',');
        item.end();
      }
      current[name] = items;
      continue;
    }
    current[name] = line.peek() === '{' ? line.inlineTable() : line.scalarOrArray();
    line.end();
  }
  return top;
}

/** The document @iarna/toml would return, when `text` is in the writer's form; else undefined. */
export function readWrittenForm(text: string): Table | undefined {
  try {
    return readDocument(text);
  } catch (error) {
    if (error instanceof Unwritten) return undefined;
    throw error;
  }
}
