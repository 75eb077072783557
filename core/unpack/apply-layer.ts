// applyLayer: streams one layer blob into a rootfs: decompress, hash the tar (DiffID), parse
// it with node-tar's Parser, and apply every entry ourselves, confined to the rootfs.

import { createHash } from 'node:crypto';
import { addAbortSignal, type Readable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import type { Reporter } from '../context.js';
import { EnvlockError } from '../errors.js';
import type { LayerCompression } from '../oci/media-types.js';
import { shortDigest } from '../oci/digest.js';
import { DecompressError, decompressed } from './decompress.js';
import { EntryWriter, Sample, type EntryHeader, type EntryType, type FileSink } from './entry-writer.js';
import { RootfsWalker, realRoot } from './rootfs-walker.js';
import { assertPlainTar, checkGlobalHeader, checkMeta } from './tar-guards.js';
import { corrupt, fsFailure, interrupted, readFailure, tooLarge, type LayerLabel } from './unpack-errors.js';
import { LayerChanges } from './whiteouts.js';
import { finishDirectories, summarise } from './finish.js';

export const DEFAULT_MAX_BYTES = 64 * 1024 ** 3;
export const DEFAULT_MAX_ENTRIES = 2_000_000;

export interface ApplyLayerOptions {
  compression: LayerCompression;
  /** Bound on the uncompressed size (LAYER_TOO_LARGE beyond it); default 64 GiB. */
  maxBytes?: number;
  /** Bound on the number of entries; default 2,000,000. */
  maxEntries?: number;
  /** Always true in practice: device nodes are skipped and nothing is chowned either way. */
  unprivileged: boolean;
  reporter: Reporter;
  signal?: AbortSignal;
  /** The config's rootfs.diff_ids entry; a mismatch is DIFF_ID_MISMATCH. */
  expectedDiffId?: string;
  /** How messages name the layer, e.g. "layer 2 of ubuntu:24.04 (sha256:…)". */
  layerName?: string;
  /**
   * true: regular files get their sealed mode (no write bits, docs/store.md) as they are
   * written, through the descriptor already held, so installRootfs need not re-open them.
   * Later layers still replace such files: unlink(2) needs write on the directory only.
   */
  sealFiles?: boolean;
}

export interface ApplyLayerResult {
  /** sha256 of the uncompressed tar stream. */
  diffId: string;
  entries: number;
  /** Uncompressed bytes read. */
  bytes: number;
  /** Summary lines (skipped devices, dropped setuid bits, …), already sent to the reporter:
   * expected behaviour through reporter.info, real problems through reporter.warn. */
  warnings: string[];
}

const TYPES: Record<string, EntryType | undefined> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'dir',
  GNUDumpDir: 'dir',
  SymbolicLink: 'symlink',
  Link: 'hardlink',
  CharacterDevice: 'char',
  BlockDevice: 'block',
  FIFO: 'fifo',
};

/**
 * Applies a layer on top of what `rootfs` already holds (lower layers, in order). The rootfs
 * must be private to this process (a fresh directory under a 0700 parent) until finished.
 * On any error the rootfs is left partly written, never anything outside it: discard it.
 */
export async function applyLayer(rootfs: string, input: Readable, options: ApplyLayerOptions): Promise<ApplyLayerResult> {
  const label: LayerLabel = {
    layer: options.layerName ?? (options.expectedDiffId ? `layer ${shortDigest(options.expectedDiffId)}` : 'the layer'),
  };
  const root = realRoot(rootfs);
  const signal = options.signal;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const task = options.reporter.task(`unpacking ${label.layer}`);
  if (signal !== undefined) {
    addAbortSignal(signal, input);
  }
  // Errors of the input stream are read failures, told apart from errors of the rootfs.
  let inputError: unknown;
  input.on('error', (error) => {
    inputError ??= error;
  });

  const walker = new RootfsWalker(root, label);
  const changes = new LayerChanges();
  walker.onImpliedDir = (rel) => changes.add(rel);
  const writer = new EntryWriter(walker, changes, label, options.sealFiles === true);
  const ignored = new Sample();
  const hash = createHash('sha256');
  let bytes = 0;
  let entries = 0;
  let failure: unknown;
  let sink: FileSink | undefined;
  let current = '';
  let sawEof = false;
  let allZero = true;

  const fail = (error: unknown): void => {
    failure ??= error;
    sink?.abort();
    sink = undefined;
  };
  const parser = new Parser({ strict: true, zstd: false, brotli: false });
  parser.on('error', (error: Error) => fail(corrupt(label, error.message, error)));
  parser.on('warn', (code: string, message: string) => fail(corrupt(label, `${code}: ${message}`)));
  parser.on('eof', () => {
    sawEof = true;
  });
  parser.on('meta', (body: string) => {
    try {
      checkMeta(body, label);
    } catch (error) {
      fail(error);
    }
  });
  parser.on('ignoredEntry', (entry: ReadEntry) => {
    if (entry.meta) {
      fail(corrupt(label, `the extended header ${JSON.stringify(entry.path)} is larger than 1 MiB`));
    } else {
      ignored.add(`${entry.path} (${entry.header.type})`);
    }
  });
  parser.on('entry', (entry: ReadEntry) => {
    if (failure !== undefined) {
      entry.resume();
      return;
    }
    current = entry.path;
    try {
      if (signal?.aborted) {
        throw interrupted(label);
      }
      if (++entries > maxEntries) {
        throw tooLarge(label, `it has more than ${maxEntries} entries`);
      }
      checkGlobalHeader(entry.globalExtended, label);
      const type = TYPES[entry.header.type ?? ''];
      if (type === undefined) {
        ignored.add(`${entry.path} (${entry.header.type})`);
        entry.resume();
        return;
      }
      const header: EntryHeader = {
        path: entry.path,
        type,
        mode: typeof entry.mode === 'number' && Number.isFinite(entry.mode) ? entry.mode & 0o7777 : undefined,
        mtime: entry.mtime,
        linkpath: entry.linkpath,
      };
      const fileSink = writer.apply(header);
      if (fileSink !== undefined) {
        sink = fileSink;
        entry.on('data', (chunk: Buffer) => {
          try {
            sink?.write(chunk);
          } catch (error) {
            fail(fsFailure(label, current, rootfs, error));
          }
        });
        entry.on('end', () => {
          try {
            sink?.end();
            sink = undefined;
          } catch (error) {
            fail(fsFailure(label, current, rootfs, error));
          }
        });
      }
    } catch (error) {
      fail(fsFailure(label, current, rootfs, error));
    }
    entry.resume();
  });

  try {
    let head = Buffer.alloc(0);
    for await (const chunk of decompressed(input, options.compression)) {
      if (head.length < 4) {
        // The first bytes may arrive split over several chunks.
        head = Buffer.concat([head, chunk.subarray(0, 4 - head.length)]);
        assertPlainTar(head, label);
      }
      bytes += chunk.length;
      if (bytes > maxBytes) {
        throw tooLarge(label, `it expands to more than ${maxBytes} bytes`);
      }
      hash.update(chunk);
      task.advance(chunk.length);
      if (allZero && chunk.some((byte) => byte !== 0)) {
        allZero = false;
      }
      if (!sawEof && failure === undefined) {
        parser.write(chunk);
      }
      if (failure !== undefined) {
        throw failure;
      }
      if (signal?.aborted) {
        throw interrupted(label);
      }
    }
    if (!sawEof) {
      parser.end();
    }
    // An all-zero stream (Docker's "empty layer") has no entries; node-tar calls that an
    // unrecognised archive, Go's archive/tar and GNU tar accept it.
    if (failure !== undefined && !(allZero && entries === 0 && bytes % 512 === 0)) {
      throw failure;
    }
    if (!sawEof && bytes % 512 !== 0) {
      throw corrupt(label, 'it ends in the middle of a 512-byte block (truncated)');
    }
    const diffId = `sha256:${hash.digest('hex')}`;
    if (options.expectedDiffId !== undefined && options.expectedDiffId !== diffId) {
      throw new EnvlockError('DIFF_ID_MISMATCH', `The uncompressed content of ${label.layer} has digest ${diffId}, but the image config says ${options.expectedDiffId}.`, {
        hint: 'Pull the image again; if it fails again, the image is damaged or was tampered with.',
        details: { layer: label.layer, expected: options.expectedDiffId, actual: diffId },
      });
    }
    finishDirectories(walker, label);
    const lines = summarise(writer.notes, ignored);
    for (const line of lines) {
      options.reporter[line.level](line.text);
    }
    const warnings = lines.map((line) => line.text);
    task.done(`${entries} entries`);
    return { diffId, entries, bytes, warnings };
  } catch (error) {
    sink?.abort();
    input.destroy();
    task.fail();
    throw error === inputError ? translateRead(error, label, signal) : translate(error, label, signal, current, rootfs);
  }
}

function translateRead(error: unknown, label: LayerLabel, signal: AbortSignal | undefined): unknown {
  return signal?.aborted ? interrupted(label) : readFailure(label, error);
}

function translate(error: unknown, label: LayerLabel, signal: AbortSignal | undefined, entry: string, root: string): unknown {
  if (error instanceof EnvlockError) {
    return error;
  }
  if (signal?.aborted || (error as { name?: string } | undefined)?.name === 'AbortError') {
    return interrupted(label);
  }
  if (error instanceof DecompressError) {
    return corrupt(label, error.message, error);
  }
  return fsFailure(label, entry, root, error);
}
