// The errors the layer unpacker raises: each names the entry and the layer, so a user can
// tell a hostile or damaged layer from a full disk (see docs/security.md).

import { EnvlockError, errnoCode } from '../errors.js';

/** How messages name the layer being applied ("layer sha256:abc…" or a caller's label). */
export interface LayerLabel {
  layer: string;
}

const REPORT_HINT = 'Do not use this image; report it to its publisher, or pull a different tag or digest.';

/** An entry whose path or link would leave the root filesystem, or that is otherwise unsafe. */
export function unsafePath(label: LayerLabel, entry: string, why: string): EnvlockError {
  return new EnvlockError('LAYER_UNSAFE_PATH', `The entry ${JSON.stringify(entry)} in ${label.layer} ${why}.`, {
    hint: REPORT_HINT,
    details: { entry, layer: label.layer },
  });
}

/** A damaged, truncated or malformed archive. */
export function corrupt(label: LayerLabel, what: string, cause?: unknown): EnvlockError {
  return new EnvlockError('LAYER_CORRUPT', `${label.layer} is not a valid layer archive: ${what}.`, {
    hint: 'Pull the image again; if it fails again, the image itself is damaged.',
    cause,
    details: { layer: label.layer },
  });
}

/** A name or link target that is not valid UTF-8: refused, never guessed (docs/security.md "Names"). */
export function notUtf8(label: LayerLabel, entry: Buffer, what: string): EnvlockError {
  const shown = escapeBytes(entry);
  return new EnvlockError('LAYER_UNSUPPORTED', `The entry "${shown}" in ${label.layer} has a ${what} that is not valid UTF-8, which envlock does not unpack.`, {
    hint: 'Ask the publisher of the image to use UTF-8 file names, or pull a different tag or digest.',
    details: { entry: shown, layer: label.layer },
  });
}

/** Printable ASCII as it is, every other byte as \xNN: names that are not UTF-8 shown exactly. */
export function escapeBytes(bytes: Buffer): string {
  let out = '';
  for (const byte of bytes) {
    out += byte >= 0x20 && byte < 0x7f && byte !== 0x5c && byte !== 0x22 ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

export function tooLarge(label: LayerLabel, what: string): EnvlockError {
  return new EnvlockError('LAYER_TOO_LARGE', `${label.layer} is larger than allowed: ${what}.`, {
    hint: 'Free space or raise the limit only if you trust this image; a layer this large may be a decompression bomb.',
    details: { layer: label.layer },
  });
}

export function interrupted(label: LayerLabel): EnvlockError {
  return new EnvlockError('INTERRUPTED', `Unpacking ${label.layer} was interrupted.`, {
    hint: 'Run the command again to finish the pull.',
  });
}

/** The blob stream itself failed (network, a verifying reader, a file): not the store's fault. */
export function readFailure(label: LayerLabel, error: unknown): EnvlockError {
  if (error instanceof EnvlockError) {
    return error;
  }
  const message = error instanceof Error ? error.message : String(error);
  return new EnvlockError('IO', `Could not read ${label.layer}: ${message}.`, {
    hint: 'Check the network connection or the blob file, then run the command again.',
    cause: error,
    details: { layer: label.layer },
  });
}

/** Maps a failed system call on the rootfs to the error a user can act on. */
export function fsFailure(label: LayerLabel, entry: string, rootfs: string, error: unknown): EnvlockError {
  if (error instanceof EnvlockError) {
    return error;
  }
  const code = errnoCode(error);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new EnvlockError('STORE_FULL', `The filesystem holding ${rootfs} is full (or over quota) while unpacking ${JSON.stringify(entry)} from ${label.layer}.`, {
      hint: 'Free some space, or choose a store on a larger filesystem with --store.',
      cause: error,
      details: { rootfs, entry, layer: label.layer },
    });
  }
  if (code === 'ENAMETOOLONG') {
    return corrupt(label, `the entry ${JSON.stringify(entry)} has a name longer than this filesystem allows`, error);
  }
  if (code === 'ELOOP') {
    return unsafePath(label, entry, 'is reached through too many symbolic links');
  }
  if (code === 'ENOENT') {
    return corrupt(label, `the entry ${JSON.stringify(entry)} refers to a path that does not exist at that point of the layer`, error);
  }
  if (code === 'ENOTDIR') {
    return corrupt(label, `a parent of the entry ${JSON.stringify(entry)} is not a directory`, error);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new EnvlockError('STORE_IO', `Could not unpack ${JSON.stringify(entry)} from ${label.layer} into ${rootfs}: ${message}.`, {
    hint: 'Check that the store is writable and healthy, then run the command again.',
    cause: error,
    details: { rootfs, entry, layer: label.layer, errno: code },
  });
}
