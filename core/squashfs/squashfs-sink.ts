// The squashfs destination of the layer applier (Decision 1): file content streams into the
// native writer as the applier reads it; the inode and directory tables are written once, at
// finish, from the applier's final tree. Whiteouts and replacements need nothing here: data of
// a file that a later layer removes stays as unreferenced blocks, and finish() never lists it.

import fs from 'node:fs/promises';
import os from 'node:os';
import type { FileContent, ImageNode, ImageSink, SinkStep } from '../unpack/image-sink.js';
import { EnvlockError } from '../errors.js';
import { hashFile } from '../fs/hash-file.js';
import { sqfsWriterClass, type NativeSqfsWriter, type SqfsWriteSummary } from './native-writer.js';
import { SQUASHFS_SETTINGS, type SquashfsSettings } from './settings.js';
import { encodeTree } from './tree-encoding.js';

export interface SquashfsFileResult {
  /** sha256 of the finished file, "sha256:<hex>". */
  digest: string;
  size: number;
  summary: SqfsWriteSummary;
  settings: SquashfsSettings;
}

export interface SquashfsSinkOptions {
  settings?: SquashfsSettings;
  /** Compression threads (default: the CPUs this process may use). Bytes do not depend on it. */
  workers?: number;
  /** fsync before finish resolves (default true). */
  durable?: boolean;
}

export class SquashfsSink implements ImageSink<number> {
  /** Set once finish() resolved. */
  result: SquashfsFileResult | undefined;
  private settled = false;

  private constructor(
    private readonly path: string,
    private readonly handle: fs.FileHandle,
    private readonly writer: NativeSqfsWriter,
    private readonly settings: SquashfsSettings,
  ) {}

  /** Creates `path` (which must not exist) and a writer for it. */
  static async create(path: string, options: SquashfsSinkOptions = {}): Promise<SquashfsSink> {
    const Writer = sqfsWriterClass();
    if (Writer === undefined) {
      throw new EnvlockError('SQUASHFS_UNAVAILABLE', 'This envlock was built without its squashfs writer, so it cannot store images as squashfs files.', {
        hint: 'Install libsquashfs-dev and run `npm rebuild envlock`, or use --image-format tree.',
      });
    }
    const settings = options.settings ?? SQUASHFS_SETTINGS;
    // Private until published: the store makes it readable once complete.
    const handle = await fs.open(path, 'wx+', 0o600);
    try {
      const writer = new Writer({
        fd: handle.fd,
        ...settings,
        workers: options.workers ?? Math.max(1, os.availableParallelism()),
        durable: options.durable ?? true,
      });
      return new SquashfsSink(path, handle, writer, settings);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  directory(): SinkStep {}

  symlink(): SinkStep {}

  hardlink(): SinkStep {}

  remove(): SinkStep {}

  file(_path: string, node: ImageNode<number>): FileContent {
    const writer = this.writer;
    let id: number | undefined;
    const begin = (): void => {
      id ??= writer.beginFile();
    };
    return {
      write(chunk) {
        begin();
        return writer.append(chunk) ? undefined : writer.drain();
      },
      hole(length) {
        begin();
        return writer.appendZeros(length) ? undefined : writer.drain();
      },
      end() {
        // A file that got no bytes is an empty inode; no data stream was started for it.
        if (id === undefined) return;
        writer.endFile();
        node.content = id;
      },
    };
  }

  async finish(root: ImageNode<number>): Promise<void> {
    this.settled = true;
    let summary: SqfsWriteSummary;
    try {
      summary = await this.writer.finish(encodeTree(root, (node) => node.content));
    } finally {
      await this.handle.close();
    }
    const digest = await hashFile(this.path, 'sha256', { noFollow: true });
    this.result = { digest, size: summary.bytes, summary, settings: { ...this.settings } };
  }

  async abort(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    try {
      await this.writer.abort();
    } finally {
      await this.handle.close().catch(() => undefined);
    }
  }
}

