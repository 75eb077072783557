// Finding and reading a project's declaration: envlock.yaml or envlock.toml in a directory
// (never both), parsed by syntax.ts and checked by validate.ts into the Declaration model.

import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EnvlockError, errnoCode } from '../errors.js';
import { readBounded } from '../fs/read-bounded.js';
import { DECLARATION_MAX_BYTES, describeLimit } from '../input-limits.js';
import { DECLARATION_FILES, type Declaration } from './model.js';
import { parseSyntax, type DeclarationFormat } from './syntax.js';
import { validateDeclaration } from './validate.js';

export interface DeclarationLocation {
  /** Absolute path of the file. */
  file: string;
  format: DeclarationFormat;
}

export interface LoadOptions {
  /** What `~` in bind sources means; pass ctx.home. Defaults to the account's home directory. */
  home?: string;
  /** The directories searched for it (nearest first), when it was looked for upwards; for messages. */
  searched?: readonly string[];
}

const FORMAT_OF: Record<(typeof DECLARATION_FILES)[number], DeclarationFormat> = {
  'envlock.yaml': 'yaml',
  'envlock.toml': 'toml',
};

/** Spellings people reach for that envlock deliberately does not read, with the right name. */
const NEAR_MISSES: Record<string, string> = { 'envlock.yml': 'envlock.yaml', 'Envlock.yaml': 'envlock.yaml', 'envlock.tml': 'envlock.toml' };

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw new EnvlockError('IO', `Cannot look at ${file}: ${code ?? String(error)}.`, { hint: 'Check the permissions of the directory.', cause: error });
  }
}

/** The declaration in `dir`, or undefined when there is none. Both files present → DECLARATION_AMBIGUOUS. */
export async function findDeclaration(dir: string): Promise<DeclarationLocation | undefined> {
  const found: DeclarationLocation[] = [];
  for (const name of DECLARATION_FILES) {
    const file = path.resolve(dir, name);
    if (await isFile(file)) found.push({ file, format: FORMAT_OF[name] });
  }
  if (found.length > 1) {
    const [a, b] = found as [DeclarationLocation, DeclarationLocation];
    throw new EnvlockError('DECLARATION_AMBIGUOUS', `Both ${a.file} and ${b.file} exist, and envlock cannot tell which one declares the project.`, {
      hint: `Keep the one you maintain and remove the other (for example \`rm ${path.basename(b.file)}\` to keep ${path.basename(a.file)}).`,
      details: { files: found.map((f) => f.file) },
    });
  }
  return found[0];
}

/** Parses and validates declaration text; `file` is used in messages and to resolve relative bind sources. */
export function parseDeclaration(text: string, file: string, format: DeclarationFormat, options: LoadOptions = {}): Declaration {
  const absolute = path.resolve(file);
  const doc = parseSyntax(text, absolute, format);
  return validateDeclaration(doc, { file: absolute, format, home: options.home ?? os.homedir(), dir: path.dirname(absolute) });
}

/** Finds, reads and validates the declaration in `dir`; none → DECLARATION_MISSING. */
export async function loadDeclaration(dir: string, options: LoadOptions = {}): Promise<Declaration> {
  const location = await findDeclaration(dir);
  if (location === undefined) {
    let hint = 'Run `envlock init` to write one, or pass -C DIR to use the project in DIR.';
    for (const [wrong, right] of Object.entries(NEAR_MISSES)) {
      if (await isFile(path.resolve(dir, wrong))) hint = `Rename ${wrong} to ${right}; envlock reads only envlock.yaml or envlock.toml.`;
    }
    const searched = options.searched ?? [path.resolve(dir)];
    const where = searched.length > 1 ? `${searched[0]} or any directory above it up to ${searched[searched.length - 1]}` : path.resolve(dir);
    throw new EnvlockError('DECLARATION_MISSING', `No envlock.yaml or envlock.toml in ${where}.`, { hint, details: { dir: path.resolve(dir), searched } });
  }
  let text: string;
  try {
    const read = await readBounded(location.file, DECLARATION_MAX_BYTES);
    if ('tooLarge' in read) {
      throw new EnvlockError('DECLARATION_INVALID', `Declaration ${location.file} is ${read.tooLarge.toLocaleString('en-US')} bytes, more than the ${describeLimit(DECLARATION_MAX_BYTES)} envlock reads.`, {
        hint: 'A declaration names images and edits in a few KiB; check that this is the file you meant, and move data out of it.',
        details: { file: location.file, size: read.tooLarge, limit: DECLARATION_MAX_BYTES },
      });
    }
    text = read.bytes.toString('utf8');
  } catch (error) {
    if (error instanceof EnvlockError) throw error;
    throw new EnvlockError('IO', `Cannot read declaration ${location.file}: ${errnoCode(error) ?? String(error)}.`, {
      hint: 'Check that the file is readable by you.',
      cause: error,
    });
  }
  return parseDeclaration(text, location.file, location.format, options);
}
