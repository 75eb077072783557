// The addon's squashfs writer (native/src/sqfs-writer*.cc), typed. It exists only where the
// addon was built with libsquashfs (libsquashfs-dev); elsewhere the squashfs form is off.

import { loadNative } from '../runtime/native.js';

export type SqfsCompressor = 'zstd' | 'gzip' | 'lz4' | 'xz';

export interface SqfsWriterOptions {
  /** A new, empty file opened read-write; it stays open (and Node's) until the writer settles. */
  fd: number;
  compressor: SqfsCompressor;
  level: number;
  /** Data block size in bytes, a power of two from 4 KiB to 1 MiB. */
  blockSize: number;
  /** Compression threads; the bytes written do not depend on it. */
  workers: number;
  /** fsync the file before finish() resolves. */
  durable: boolean;
  /** Bytes queued before append() asks the caller to wait (default 8 MiB). */
  highWaterMark?: number;
}

export interface SqfsWriteSummary {
  /** Size of the finished file (padded to 4 KiB). */
  bytes: number;
  inodes: number;
  /** File bytes streamed in, holes included. */
  inputBytes: number;
  dataBlocks: number;
  fragmentBlocks: number;
}

export interface NativeSqfsWriter {
  /** Starts the next file; returns the id the tree description gives it. */
  beginFile(): number;
  /** Queues bytes of the current file (copied); false: await drain() before the next call. */
  append(chunk: Uint8Array): boolean;
  /** Queues `length` zero bytes of the current file (a hole); false as for append(). */
  appendZeros(length: number): boolean;
  endFile(): void;
  /** Resolves once the queue is low; rejects with the writer's error once it failed. */
  drain(): Promise<void>;
  /** Writes the tables from the encoded tree (tree-encoding.ts) and settles the writer. */
  finish(tree: Uint8Array): Promise<SqfsWriteSummary>;
  /** Drops everything queued; resolves once the writer's threads are gone. */
  abort(): Promise<void>;
}

export type SqfsWriterClass = new (options: SqfsWriterOptions) => NativeSqfsWriter;

/** The writer class, or undefined when this build of the addon has no squashfs support. */
export function sqfsWriterClass(): SqfsWriterClass | undefined {
  const addon = loadNative() as unknown as { SqfsWriter?: SqfsWriterClass };
  return typeof addon.SqfsWriter === 'function' ? addon.SqfsWriter : undefined;
}
