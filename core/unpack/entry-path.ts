// Turns an archive member name into the components of a path inside the rootfs, and
// recognises OCI whiteout names (image-spec layer.md "Whiteouts").

import type { LayerLabel } from './unpack-errors.js';
import { corrupt, unsafePath } from './unpack-errors.js';

/** Linux NAME_MAX: longer components cannot be created, so they mark a broken archive. */
const NAME_MAX_BYTES = 255;
/** Deeper than this cannot fit in PATH_MAX anyway. */
const MAX_DEPTH = 1024;

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

/**
 * Components of a member name, relative to the rootfs. Leading "/" and "./" are stripped
 * (absolute names mean "from the image root", as containerd and Charliecloud read them),
 * "." components and repeated or trailing slashes are dropped, and a ".." component or a
 * NUL byte is refused outright: clamping ".." could silently rename a file, and no
 * well-formed layer needs it. A backslash is an ordinary character on Linux.
 * An empty list means the root directory itself.
 */
export function entryComponents(raw: string, label: LayerLabel, what = 'path'): string[] {
  if (raw.includes('\0')) {
    throw unsafePath(label, raw.replace(/\0/g, '\\0'), `has a NUL byte in its ${what}`);
  }
  const components: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') {
      continue;
    }
    if (part === '..') {
      throw unsafePath(label, raw, `has a ".." component in its ${what}, which could reach outside the image`);
    }
    if (Buffer.byteLength(part) > NAME_MAX_BYTES) {
      throw corrupt(label, `the ${what} ${JSON.stringify(raw)} has a component longer than ${NAME_MAX_BYTES} bytes`);
    }
    components.push(part);
  }
  if (components.length > MAX_DEPTH) {
    throw corrupt(label, `the ${what} ${JSON.stringify(raw.slice(0, 80))}… is nested deeper than ${MAX_DEPTH} directories`);
  }
  return components;
}

export type Whiteout =
  | { kind: 'none' }
  | { kind: 'opaque' }
  | { kind: 'remove'; name: string }
  /** Other ".wh..wh." names are AUFS bookkeeping (".wh..wh.plnk"): ignored, like containerd does. */
  | { kind: 'meta' };

/** Classifies the last component of a member name; whiteouts are decided by name only. */
export function whiteoutOf(base: string, raw: string, label: LayerLabel): Whiteout {
  if (!base.startsWith(WHITEOUT_PREFIX)) {
    return { kind: 'none' };
  }
  if (base === OPAQUE_MARKER) {
    return { kind: 'opaque' };
  }
  if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) {
    return { kind: 'meta' };
  }
  const name = base.slice(WHITEOUT_PREFIX.length);
  // layer.md: an empty name SHOULD be an error; "." and ".." would hide the directory itself
  // or its parent, which no layer may do (containerd validateWhiteout).
  if (name === '' || name === '.' || name === '..') {
    throw unsafePath(label, raw, 'is a whiteout that names no file, or the directory itself or its parent');
  }
  return { kind: 'remove', name };
}

/** Joins real components into a rootfs-relative path ("" is the root). */
export function relJoin(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}
