// Reads envlock.lock into the model. The version field is read first, so a lockfile written by a
// newer envlock is refused with a clear message even when the rest of it would not parse.

import path from 'node:path';
import { parseToml } from '../core/toml-parser.js';
import { EnvlockError, errnoCode } from '../core/errors.js';
import { readBounded } from '../core/fs/read-bounded.js';
import { LOCKFILE_MAX_BYTES, describeLimit } from '../core/input-limits.js';
import { canonicalLockfile } from './canonical.js';
import type { Lockfile } from './model.js';
import { LOCKFILE_NAME, LOCKFILE_VERSION } from './model.js';
import { WireChecker } from './wire-check.js';
import { lockfileFromWire } from './wire.js';
import { readWrittenForm } from './written-form.js';

interface TomlError extends Error {
  fromTOML: true;
  line: number;
  col: number;
}

function isTomlError(error: unknown): error is TomlError {
  return error instanceof Error && (error as Partial<TomlError>).fromTOML === true;
}

/**
 * The `version = N` line of the top-level table, found without a TOML parser: a newer format may
 * use syntax this parser rejects, and the user should still hear "too new", not "broken".
 */
export function sniffVersion(text: string): bigint | undefined {
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*\[/.test(line)) return undefined;
    const match = /^\s*"?version"?\s*=\s*([0-9][0-9_]*)\s*(#.*)?$/.exec(line);
    if (match) return BigInt(match[1]!.replaceAll('_', ''));
  }
  return undefined;
}

function unsupported(file: string, version: number | bigint): EnvlockError {
  return new EnvlockError(
    'LOCK_VERSION_UNSUPPORTED',
    `${file} was written by a newer envlock (format ${version}); this envlock reads format ${LOCKFILE_VERSION}.`,
    {
      hint: `Upgrade envlock to a release that reads lockfile format ${version}.`,
      details: { file, version: String(version), supported: LOCKFILE_VERSION },
    },
  );
}

function syntaxError(file: string, error: TomlError): EnvlockError {
  // @iarna/toml counts lines and columns from 0 and appends its own position and a code excerpt.
  const line = error.line + 1;
  const column = error.col + 1;
  const reason = (error.message.split('\n')[0] ?? '').replace(/ at row \d+, col \d+, pos \d+:?$/, '');
  return new EnvlockError('LOCK_SYNTAX', `${file} is not valid TOML at line ${line}, column ${column}: ${reason}.`, {
    hint: 'Run `envlock lock` to write it again; if it holds merge-conflict markers, resolve them or delete the file first.',
    cause: error,
    details: { file, line, column },
  });
}

function readVersion(doc: Record<string, unknown>, text: string, checker: WireChecker): number {
  const version = doc.version;
  if (version === undefined) checker.fail('version', 'is missing');
  // @iarna/toml wraps integers beyond 64 bits, so the digits are taken from the text itself.
  if (typeof version === 'bigint') throw unsupported(checker.file, sniffVersion(text) ?? version);
  if (typeof version !== 'number' || !Number.isSafeInteger(version)) {
    checker.fail('version', `must be an integer, not ${typeof version === 'string' ? JSON.stringify(version) : typeof version}`);
  }
  if (version > LOCKFILE_VERSION) throw unsupported(checker.file, version);
  if (version < 1) checker.fail('version', `is ${version}, which is not a lockfile format (formats start at 1)`);
  return version;
}

/**
 * Parses lockfile text. `file` names the file in messages. The model comes back in canonical
 * order, whatever order the file listed things in.
 */
export function parseLockfile(text: string, file: string = LOCKFILE_NAME): Lockfile {
  const checker = new WireChecker(file);
  // A lock as envlock writes it needs no general TOML parser; anything else gets @iarna/toml.
  let doc: Record<string, unknown> | undefined = readWrittenForm(text);
  try {
    doc ??= parseToml(text);
  } catch (error) {
    if (!isTomlError(error)) throw error;
    const sniffed = sniffVersion(text);
    if (sniffed !== undefined && sniffed > BigInt(LOCKFILE_VERSION)) throw unsupported(file, sniffed);
    throw syntaxError(file, error);
  }
  const version = readVersion(doc, text, checker);
  return canonicalLockfile(lockfileFromWire(checker.lockfile(doc, version)));
}

/** Reads dir/envlock.lock; undefined when there is none. */
export async function readLockfile(dir: string): Promise<Lockfile | undefined> {
  const file = path.join(dir, LOCKFILE_NAME);
  let bytes: Buffer;
  try {
    const read = await readBounded(file, LOCKFILE_MAX_BYTES);
    if ('tooLarge' in read) {
      throw new EnvlockError('LOCK_INVALID', `${file} is ${read.tooLarge.toLocaleString('en-US')} bytes, more than the ${describeLimit(LOCKFILE_MAX_BYTES)} envlock reads.`, {
        hint: 'A lock holds about 1 KiB per image; check that this is the file envlock wrote, or run `envlock lock` to write it again.',
        details: { file, size: read.tooLarge, limit: LOCKFILE_MAX_BYTES },
      });
    }
    bytes = read.bytes;
  } catch (error) {
    if (error instanceof EnvlockError) throw error;
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw new EnvlockError('IO', `Could not read ${file}: ${(error as Error).message}.`, {
      hint: 'Check that the file is readable.',
      cause: error,
      details: { file, errno: errnoCode(error) },
    });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new EnvlockError('LOCK_SYNTAX', `${file} is not UTF-8 text.`, {
      hint: 'Run `envlock lock` to write it again.',
      cause: error,
      details: { file },
    });
  }
  return parseLockfile(text, file);
}
