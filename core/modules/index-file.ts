// The per-tree index the shell shim reads instead of starting Node: ROOT/.envlock-index, one
// line per module, space-separated, the prepared directory last so it may hold spaces.

import fs from 'node:fs/promises';
import path from 'node:path';
import { EnvlockError, errnoCode } from '../errors.js';
import { isTempSibling, writeFileAtomic } from '../fs/atomic-write.js';
import { ensureTrustedDir } from './trusted-dir.js';

export const INDEX_FILE = '.envlock-index';
/** ROOT/.envlock-index.d/NAME: the lines of one name, so `module load NAME` reads a few lines, not the tree's. */
export const INDEX_DIR = '.envlock-index.d';
/** ROOT/.envlock-spider: `module spider`'s listing of the tree, rendered when the index is written. */
export const SPIDER_FILE = '.envlock-spider';
/** The first line; the shim ignores an index whose first line differs (and falls back to the CLI). */
export const INDEX_HEADER = '# envlock-module-index 1';

export interface IndexEntry {
  name: string;
  version: string;
  isDefault: boolean;
  /** Hex sha256 of envlock.lock when the wrappers were prepared; the shim compares it before load. */
  lockHex: string;
  provides: string[];
  commands: string[];
  /** Prepared directory, relative to ROOT/NAME/VERSION or absolute; '-' when none is prepared. */
  prepDir: string;
}

const list = (items: readonly string[]): string => (items.length === 0 ? '-' : items.join(','));
const unlist = (field: string): string[] => (field === '-' ? [] : field.split(','));

/**
 * Text of an index. Format (docs/modules.md "Index"): after the header, lines of
 * `NAME VERSION D|- LOCKHEX PROVIDES|- COMMANDS|- PREPDIR`, lists comma-separated, sorted by
 * name then version so that writing the same tree twice gives the same bytes.
 */
export function serializeIndex(entries: readonly IndexEntry[]): string {
  const key = (e: IndexEntry): string => `${e.name}\0${e.version}`;
  const sorted = [...entries].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const lines = sorted.map((e) => [e.name, e.version, e.isDefault ? 'D' : '-', e.lockHex, list(e.provides), list(e.commands), e.prepDir].join(' '));
  return `${[INDEX_HEADER, ...lines].join('\n')}\n`;
}

/** Parses an index; undefined when the header is not this format's (a newer or foreign file). */
export function parseIndex(text: string): IndexEntry[] | undefined {
  const lines = text.split('\n');
  if (lines[0] !== INDEX_HEADER) return undefined;
  const entries: IndexEntry[] = [];
  for (const line of lines.slice(1)) {
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(' ');
    if (fields.length < 7) continue;
    const [name, version, mark, lockHex, provides, commands] = fields as [string, string, string, string, string, string];
    entries.push({ name, version, isDefault: mark === 'D', lockHex, provides: unlist(provides), commands: unlist(commands), prepDir: fields.slice(6).join(' ') });
  }
  return entries;
}

async function writeAtomic(file: string, text: string): Promise<void> {
  try {
    await writeFileAtomic(file, text);
  } catch (error) {
    throw new EnvlockError('IO', `Cannot write the module index ${file}: ${errnoCode(error) ?? String(error)}.`, {
      hint: 'Check that the module tree is writable by you.',
      cause: error,
    });
  }
}

/**
 * Writes ROOT/.envlock-index and one ROOT/.envlock-index.d/NAME per name, each atomically
 * (temp file + rename) so the shim never reads half of one; per-name files of names no longer
 * in the tree are removed.
 */
export async function writeIndexFile(root: string, entries: readonly IndexEntry[], spiderText?: string): Promise<string> {
  const file = path.join(root, INDEX_FILE);
  const dir = path.join(root, INDEX_DIR);
  const byName = new Map<string, IndexEntry[]>();
  for (const e of entries) byName.set(e.name, [...(byName.get(e.name) ?? []), e]);
  // Its stale entries are removed below: a symlink planted here would aim that at any directory.
  await ensureTrustedDir(dir).catch((error: unknown) => {
    if (error instanceof EnvlockError) throw error;
  });
  for (const [name, list] of byName) await writeAtomic(path.join(dir, name), serializeIndex(list));
  for (const old of await fs.readdir(dir).catch(() => [] as string[])) {
    if (!byName.has(old) && !isTempSibling(old)) await fs.rm(path.join(dir, old), { force: true });
  }
  await writeAtomic(file, serializeIndex(entries));
  // After the index, so a spider listing older than its index is known to be out of date.
  if (spiderText !== undefined) await writeAtomic(path.join(root, SPIDER_FILE), spiderText);
  return file;
}
