// The syntax layer: YAML or TOML text to plain data, with syntax errors (duplicate keys
// included) reported as DECLARATION_SYNTAX naming the file, line and column, 1-based.

import yaml from 'js-yaml';
import { parseToml as parseTomlText } from '../toml-parser.js';
import { EnvlockError } from '../errors.js';

export type DeclarationFormat = 'yaml' | 'toml';

function syntaxError(format: DeclarationFormat, file: string, line: number | undefined, column: number | undefined, reason: string, cause: unknown): EnvlockError {
  const where = line === undefined ? '' : column === undefined ? ` at line ${line}` : ` at line ${line}, column ${column}`;
  const language = format === 'toml' ? 'TOML' : 'YAML';
  return new EnvlockError('DECLARATION_SYNTAX', `Declaration ${file} is not valid ${language}${where}: ${reason}.`, {
    hint: 'Fix the file at that place; a YAML or TOML checker in your editor shows it too.',
    cause,
    details: { file, ...(line === undefined ? {} : { line }), ...(column === undefined ? {} : { column }) },
  });
}

/** The 1-based line of the second document in a YAML stream, for js-yaml's mark-less error. */
function secondDocumentLine(text: string): number | undefined {
  const lines = text.split('\n');
  let seenContent = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^---(\s|$)/.test(line)) {
      if (seenContent) return i + 1;
      seenContent = true;
    } else if (line.trim() !== '' && !line.trimStart().startsWith('#')) {
      seenContent = true;
    }
  }
  return undefined;
}

function parseYaml(text: string, file: string): unknown {
  try {
    // CORE_SCHEMA: `on`, `yes` and dates stay strings; no custom tags. js-yaml rejects duplicate keys by default.
    return yaml.load(text, { schema: yaml.CORE_SCHEMA, filename: file });
  } catch (error) {
    if (!(error instanceof yaml.YAMLException)) throw error;
    const mark = (error as { mark?: { line?: number; column?: number } }).mark;
    const raw = (error as { reason?: string }).reason ?? 'unreadable YAML';
    const reason = raw === 'duplicated mapping key' ? 'a key appears twice in the same map' : raw;
    if (mark?.line !== undefined) return fail(syntaxError('yaml', file, mark.line + 1, (mark.column ?? 0) + 1, reason, error));
    if (/single document/.test(raw)) {
      return fail(syntaxError('yaml', file, secondDocumentLine(text), undefined, 'the file holds more than one YAML document (a second `---`)', error));
    }
    return fail(syntaxError('yaml', file, undefined, undefined, reason, error));
  }
}

interface TomlError {
  fromTOML: true;
  line: number;
  col: number;
  message: string;
}

function isTomlError(error: unknown): error is TomlError {
  return typeof error === 'object' && error !== null && (error as { fromTOML?: unknown }).fromTOML === true;
}

function parseToml(text: string, file: string): unknown {
  try {
    return parseTomlText(text);
  } catch (error) {
    if (!isTomlError(error)) throw error;
    // @iarna/toml counts lines and columns from 0 and appends " at row R, col C, pos P:" and a snippet.
    const reason = error.message.split('\n')[0]!.replace(/ at row \d+, col \d+, pos \d+:?$/, '');
    return fail(syntaxError('toml', file, error.line + 1, error.col + 1, reason.replace(/\.$/, ''), error));
  }
}

function fail(error: EnvlockError): never {
  throw error;
}

/** Parses text in the given format; the result is untyped data for validate.ts to check. */
export function parseSyntax(text: string, file: string, format: DeclarationFormat): unknown {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  return format === 'yaml' ? parseYaml(body, file) : parseToml(body, file);
}
