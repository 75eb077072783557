// The tree digest (docs/security.md "Tree digest"): one sha256 over an image's paths, types,
// stored modes, link targets and file contents. digestImage computes it from the applier's
// in-memory tree; treeDigest(dir) recomputes it from a directory on disk (`envlock verify`).
// Both yield to the event loop regularly, so a lock heartbeat never starves.

import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import { hashFile } from '../fs/hash-file.js';
import { compareNames, type ImageNode } from './image-sink.js';

/** Files hashed at once: enough to hide latency on network filesystems. */
const PARALLEL_READS = 8;
/** Milliseconds of synchronous work between two yields to the event loop. */
const SLICE_MS = 20;

const NUL = Buffer.alloc(1);

/** Appends one record: PATH NUL TYPE NUL MODE NUL VALUE NUL. */
/** Where records go: the hash, and with a tee also a copy of every byte (verify-tree.ts keeps them). */
interface RecordSink {
  update(bytes: Buffer | string): unknown;
}

export interface TreeDigestOptions {
  /** Receives every byte hashed, in order: the records a verify can compare file by file. */
  tee?: (bytes: Buffer | string) => void;
}

function sinkOf(hash: Hash, options: TreeDigestOptions): RecordSink {
  const tee = options.tee;
  if (tee === undefined) return hash;
  return { update: (bytes) => { hash.update(bytes); tee(bytes); } };
}

function record(hash: RecordSink, path: Buffer | string, type: string, mode: number, value: Buffer | string): void {
  hash.update(path);
  hash.update(NUL);
  hash.update(type);
  hash.update(NUL);
  hash.update(mode.toString(8).padStart(4, '0'));
  hash.update(NUL);
  hash.update(value);
  hash.update(NUL);
}

/** Resolves after a slice of work: a setImmediate turn once SLICE_MS have passed. */
function pacer(): () => Promise<void> {
  let since = Date.now();
  return async () => {
    if (Date.now() - since >= SLICE_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      since = Date.now();
    }
  };
}

/**
 * The digest of an in-memory image tree. Records must come in byte order of their full paths
 * ("a", "a-b", "a/x"); within a directory, a child directory's subtree sorts as its name plus
 * "/", so sorting each directory's keys gives exactly that order without a global sort.
 */
export async function digestImage(root: ImageNode, options: TreeDigestOptions = {}): Promise<string> {
  const digest = createHash('sha256');
  const hash = sinkOf(digest, options);
  const pace = pacer();
  const walk = async (dir: ImageNode, prefix: string): Promise<void> => {
    const keys: Array<{ key: string; name: string; node: ImageNode; subtree: boolean }> = [];
    for (const [name, node] of dir.children ?? []) {
      keys.push({ key: name, name, node, subtree: false });
      if (node.kind === 'dir') keys.push({ key: `${name}/`, name, node, subtree: true });
    }
    keys.sort((a, b) => compareNames(a.key, b.key));
    for (const { name, node, subtree } of keys) {
      const path = prefix + name;
      if (subtree) {
        await walk(node, `${path}/`);
      } else if (node.kind === 'dir') {
        record(hash, path, 'd', node.mode, '');
      } else if (node.kind === 'file') {
        record(hash, path, 'f', node.mode, node.sha256 ?? '');
      } else {
        record(hash, path, 'l', node.mode, node.target ?? '');
      }
      await pace();
    }
  };
  await walk(root, '');
  return `sha256:${digest.digest('hex')}`;
}

interface Item {
  path: Buffer;
  type: 'd' | 'f' | 'l' | 'o';
  mode: number;
  /** For 'f': where to read; for 'l': the target bytes. */
  source: Buffer;
  value?: string;
}

/**
 * The digest of a directory on disk, walking with lstat and never following symlinks; names
 * are raw bytes throughout. Hard-linked files hash as independent regular files.
 */
export async function treeDigest(rootfs: string, options: TreeDigestOptions = {}): Promise<string> {
  const items: Item[] = [];
  await collect(Buffer.from(rootfs), Buffer.alloc(0), items, pacer());
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
  const digest = createHash('sha256');
  const hash = sinkOf(digest, options);
  const pace = pacer();
  for (const item of items) {
    record(hash, item.path, item.type, item.mode, item.type === 'f' ? (item.value ?? '') : item.type === 'l' ? item.source : '');
    await pace();
  }
  return `sha256:${digest.digest('hex')}`;
}

async function collect(dirAbs: Buffer, dirRel: Buffer, items: Item[], pace: () => Promise<void>): Promise<void> {
  const slash = Buffer.from('/');
  for (const name of fs.readdirSync(dirAbs, { encoding: 'buffer' })) {
    const abs = Buffer.concat([dirAbs, slash, name]);
    const rel = dirRel.length === 0 ? name : Buffer.concat([dirRel, slash, name]);
    const stat = fs.lstatSync(abs);
    const mode = stat.mode & 0o7777;
    if (stat.isDirectory()) {
      items.push({ path: rel, type: 'd', mode, source: abs });
      await collect(abs, rel, items, pace);
    } else if (stat.isFile()) {
      items.push({ path: rel, type: 'f', mode, source: abs });
    } else if (stat.isSymbolicLink()) {
      items.push({ path: rel, type: 'l', mode, source: fs.readlinkSync(abs, { encoding: 'buffer' }) });
    } else {
      items.push({ path: rel, type: 'o', mode, source: abs });
    }
    await pace();
  }
}
