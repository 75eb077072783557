// ImageSource over an `oci-archive:` file (a tar of an OCI image layout, containers-transports(5)):
// only the layout's own files are extracted into a private temp directory, then read as a layout.

import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Context } from '../context.js';
import { EnvlockError, errnoCode } from '../errors.js';
import type { LocalReference } from '../registry/reference.js';
import { LayoutSource } from './layout-source.js';

/** Members an image layout may have: the marker, the index and content-addressed blobs. */
const LAYOUT_MEMBER = /^(?:oci-layout|index\.json|blobs\/(?:sha256\/[a-f0-9]{64}|sha512\/[a-f0-9]{128}))$/;

function unreadable(ref: LocalReference, why: string, cause?: unknown): EnvlockError {
  return new EnvlockError('LAYOUT_INVALID', `The OCI archive ${ref.path} ${why}.`, {
    hint: 'Point the reference at a tar written by `skopeo copy … oci-archive:FILE:TAG`, or check the path.',
    cause,
  });
}

class ArchiveSource extends LayoutSource {
  constructor(reference: LocalReference, private readonly tempDir: string) {
    super(reference, tempDir);
  }

  override async close(): Promise<void> {
    await rm(this.tempDir, { recursive: true, force: true });
  }
}

export async function openArchiveSource(ref: LocalReference, ctx: Pick<Context, 'env'>): Promise<LayoutSource> {
  try {
    const info = await stat(ref.path);
    if (!info.isFile()) throw unreadable(ref, 'is not a file');
  } catch (error) {
    if (error instanceof EnvlockError) throw error;
    throw unreadable(ref, `cannot be read (${errnoCode(error) ?? String(error)})`, error);
  }
  const base = ctx.env.TMPDIR || os.tmpdir();
  const dir = await mkdtemp(path.join(base, 'envlock-archive-'));
  try {
    const { x } = await import('tar');
    await x({
      file: ref.path,
      cwd: dir,
      strict: true,
      // Regular files of the layout only: no links, devices or stray paths from a hostile tar.
      filter: (member, entry) => {
        const name = member.replace(/^(?:\.\/)+/, '');
        return 'type' in entry && entry.type === 'File' && LAYOUT_MEMBER.test(name);
      },
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw unreadable(ref, `is not a readable tar archive (${(error as Error).message})`, error);
  }
  return new ArchiveSource(ref, dir);
}
