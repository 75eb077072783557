// treeDigest: one sha256 over an unpacked rootfs (paths, types, stored modes, link targets,
// file contents), so two unpacks of the same image can be compared byte for byte.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { hashFile } from '../fs/hash-file.js';

/** Files hashed at once: enough to hide latency on network filesystems. */
const PARALLEL_READS = 8;

interface Item {
  path: Buffer;
  type: 'd' | 'f' | 'l' | 'o';
  mode: number;
  /** For 'f': where to read; for 'l': the target bytes. */
  source: Buffer;
  value?: string;
}

/**
 * The digest's exact encoding is specified in docs/security.md ("Tree digest"): for every
 * entry below the root (the root itself is excluded), sorted by path bytes,
 *   path NUL type NUL mode(4 octal digits) NUL value NUL
 * where type is d/f/l/o, value is the lower-case hex sha256 of a file's content, a symlink's
 * target bytes, or empty. Hard-linked files hash as independent regular files; mtimes and
 * ownership are not part of the digest. Names are handled as raw bytes throughout.
 */
export async function treeDigest(rootfs: string): Promise<string> {
  const items: Item[] = [];
  collect(Buffer.from(rootfs), Buffer.alloc(0), items);
  items.sort((a, b) => Buffer.compare(a.path, b.path));
  const files = items.filter((item) => item.type === 'f');
  let next = 0;
  const worker = async (): Promise<void> => {
    const buffer = Buffer.allocUnsafe(256 * 1024);
    while (next < files.length) {
      const item = files[next++] as Item;
      item.value = (await hashFile(item.source, 'sha256', { noFollow: true, buffer })).slice('sha256:'.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_READS, files.length) }, worker));
  const hash = createHash('sha256');
  const nul = Buffer.alloc(1);
  for (const item of items) {
    hash.update(item.path);
    hash.update(nul);
    hash.update(item.type);
    hash.update(nul);
    hash.update(item.mode.toString(8).padStart(4, '0'));
    hash.update(nul);
    if (item.type === 'f') {
      hash.update(item.value ?? '');
    } else if (item.type === 'l') {
      hash.update(item.source);
    }
    hash.update(nul);
  }
  return `sha256:${hash.digest('hex')}`;
}

function collect(dirAbs: Buffer, dirRel: Buffer, items: Item[]): void {
  const slash = Buffer.from('/');
  for (const name of fs.readdirSync(dirAbs, { encoding: 'buffer' })) {
    const abs = Buffer.concat([dirAbs, slash, name]);
    const rel = dirRel.length === 0 ? name : Buffer.concat([dirRel, slash, name]);
    const stat = fs.lstatSync(abs);
    const mode = stat.mode & 0o7777;
    if (stat.isDirectory()) {
      items.push({ path: rel, type: 'd', mode, source: abs });
      collect(abs, rel, items);
    } else if (stat.isFile()) {
      items.push({ path: rel, type: 'f', mode, source: abs });
    } else if (stat.isSymbolicLink()) {
      items.push({ path: rel, type: 'l', mode, source: fs.readlinkSync(abs, { encoding: 'buffer' }) });
    } else {
      items.push({ path: rel, type: 'o', mode, source: abs });
    }
  }
}
