// The launch spec: what envlock-launch needs to enter an environment, and its rendering into
// the launcher's line format (docs/runtime.md "Spec format"): one keyword per line, fields
// separated by one space, with \\ \s \n \t \r escapes inside a field.

import path from 'node:path';
import { EnvlockError } from '../errors.js';

export interface BindMount {
  /** Host path. */
  source: string;
  /** Path inside the environment; it need not exist in the image. */
  destination: string;
  readOnly: boolean;
  /** Skip the bind when the source is missing instead of failing. */
  optional?: boolean;
}

export interface DeviceNode {
  /** Host device node, e.g. /dev/nvidia0. */
  source: string;
  /** Where it appears inside; defaults to the same path. */
  destination?: string;
}

/** What a launcher needs of a CPU to run an image (docs/runtime.md `arch` and `cpu-needs`). */
export interface CpuNeeds {
  /** OCI architecture name (amd64, arm64), as the addon's cpuFeatures() reports it. */
  architecture: string;
  /** Canonical feature names (core/arch/features.ts). */
  features: string[];
}

export interface LaunchSpec {
  /** The unpacked image (a tree), bound read-only as /; exactly one of rootfs and squashfs. */
  rootfs?: string;
  /** The image as one squashfs file, mounted read-only as / (Decision 3). */
  squashfs?: string;
  /** Comment lines naming what the spec was prepared from (module, lock digest). */
  comments?: string[];
  /**
   * Hold a lease on the image while the command runs, so `envlock gc` keeps it (core/store/lease.ts).
   * optional: a caller who may not write `dir` runs without one (a module tree shared by users).
   */
  lease?: { dir: string; name: string; optional?: boolean };
  /** Refuse to start (exit 4) on a CPU that lacks these; checked by the launcher with CPUID. */
  cpuNeeds?: CpuNeeds;
  binds?: BindMount[];
  devices?: DeviceNode[];
  /** The whole environment of the command, in order; nothing else is inherited. */
  env?: ReadonlyArray<readonly [string, string]>;
  /** Names whose values the launcher copies from its own environment at start (TERM, DISPLAY). */
  envPass?: string[];
  /** Working directory inside; defaults to the caller's (falling back to / with a warning). */
  cwd?: string;
  /** Bind the caller's working directory at the same path (default true). */
  bindCwd?: boolean;
  /** Host home directory, bound read-write at the same path. */
  home?: string;
  hostname?: string;
  /** Name of the passwd entry added for the caller (caller-name.ts: /etc/passwd, else NSS). */
  user?: string;
  /** Name of the group entry added for the caller's primary group. */
  group?: string;
  /** Map the caller to uid/gid 0 inside. */
  fakeRoot?: boolean;
  /** A private tmpfs /tmp (default) or the host's /tmp. */
  privateTmp?: boolean;
  /** A new PID namespace with a minimal init (default) or the host's /proc. */
  pidNamespace?: boolean;
  /** Bind the host's /etc/hosts and /etc/resolv.conf (default true). */
  hostFiles?: boolean;
  /** Empty directories to create (in the mount skeleton) inside. */
  mkdirs?: string[];
  /** Default command when the caller gives none. */
  command?: string[];
  /** Use the overlay skeleton even when every mount point exists. */
  overlay?: 'auto' | 'always';
}

export const SPEC_VERSION = 1;

const ESCAPES: Record<string, string> = { '\\': '\\\\', ' ': '\\s', '\n': '\\n', '\t': '\\t', '\r': '\\r' };

/**
 * The one escape rule of the spec format: backslash, space and line breaks become escapes. A
 * NUL byte cannot travel (no path, argument or variable can hold one): the one error for bad
 * bytes, naming the line it was meant for.
 */
export function escapeField(value: string, keyword = 'launch'): string {
  if (value.includes('\0')) {
    const shown = JSON.stringify(value.replace(/\0/g, '\\0'));
    throw new EnvlockError('LAUNCH_FAILED', `The ${keyword} value ${shown.length > 200 ? `${shown.slice(0, 197)}..."` : shown} contains a NUL byte, which no path, argument or variable can hold.`, {
      hint: 'Remove the NUL byte from the declaration, the flag or the image config that holds it.',
      details: { keyword },
    });
  }
  return value.replace(/[\\ \n\t\r]/g, (c) => ESCAPES[c] ?? c);
}

/** Throws BIND_INVALID unless `p` is absolute and has no "." or ".." component. */
function checkPath(p: string, what: string): string {
  // In an absolute path such a component follows a "/": most paths have no "/." at all.
  const dotted = p.includes('/.') && p.split('/').some((part) => part === '.' || part === '..');
  if (!p.startsWith('/') || dotted) {
    throw new EnvlockError('BIND_INVALID', `The ${what} path ${JSON.stringify(p)} is not a normalised absolute path.`, {
      hint: 'Write it as an absolute path without "." or ".." components.',
      details: { path: p },
    });
  }
  return p.length > 1 && p.endsWith('/') ? p.replace(/\/+$/, '') : p;
}

function line(keyword: string, ...fields: string[]): string {
  let text = keyword;
  for (const field of fields) text += ` ${escapeField(field, keyword)}`;
  return text;
}

const yesNo = (value: boolean): string => (value ? 'yes' : 'no');

function imageLine(spec: LaunchSpec): string {
  if ((spec.rootfs === undefined) === (spec.squashfs === undefined)) {
    throw new EnvlockError('LAUNCH_FAILED', 'A launch spec needs exactly one image: a rootfs directory or a squashfs file.', { hint: 'Report this as a bug.' });
  }
  return spec.rootfs !== undefined ? line('rootfs', checkPath(spec.rootfs, 'rootfs')) : line('squashfs', checkPath(spec.squashfs!, 'squashfs'));
}

/** Renders a spec as launcher text, the one renderer of it; every path is checked first. */
export function renderSpec(spec: LaunchSpec): string {
  const out = [`envlock-launch-spec ${SPEC_VERSION}`];
  // Comments are free text for people reading the file: one line each, never a keyword line.
  for (const comment of spec.comments ?? []) out.push(`# ${comment.replace(/[\r\n\0]/g, ' ')}`);
  out.push(imageLine(spec));
  if (spec.lease !== undefined) out.push(line('lease', checkPath(spec.lease.dir, 'lease directory'), spec.lease.name, ...(spec.lease.optional ? ['optional'] : [])));
  if (spec.cpuNeeds !== undefined) {
    out.push(line('arch', spec.cpuNeeds.architecture));
    if (spec.cpuNeeds.features.length > 0) out.push(line('cpu-needs', spec.cpuNeeds.features.join(',')));
  }
  for (const [key, value] of spec.env ?? []) {
    if (key === '' || key.includes('=')) {
      throw new EnvlockError('LAUNCH_FAILED', `The environment variable name ${JSON.stringify(key)} is empty or contains "=".`, {
        hint: 'Use a variable name without "=".',
      });
    }
    out.push(line('env', `${key}=${value}`));
  }
  for (const name of spec.envPass ?? []) out.push(line('env-pass', name));
  if (spec.cwd !== undefined) out.push(line('cwd', checkPath(spec.cwd, 'working directory')));
  if (spec.bindCwd !== undefined) out.push(line('bind-cwd', yesNo(spec.bindCwd)));
  if (spec.home !== undefined) out.push(line('home', checkPath(spec.home, 'home')));
  if (spec.hostname !== undefined) out.push(line('hostname', spec.hostname));
  if (spec.user !== undefined) out.push(line('user', spec.user));
  if (spec.group !== undefined) out.push(line('group', spec.group));
  if (spec.fakeRoot !== undefined) out.push(line('fake-root', yesNo(spec.fakeRoot)));
  if (spec.privateTmp !== undefined) out.push(line('tmp', spec.privateTmp ? 'private' : 'host'));
  if (spec.pidNamespace !== undefined) out.push(line('pid', spec.pidNamespace ? 'private' : 'host'));
  if (spec.hostFiles !== undefined) out.push(line('host-files', yesNo(spec.hostFiles)));
  if (spec.overlay !== undefined) out.push(line('overlay', spec.overlay));
  for (const b of spec.binds ?? []) {
    const options = [b.readOnly ? 'ro' : 'rw', ...(b.optional ? ['optional'] : [])].join(',');
    out.push(line('bind', checkPath(path.normalize(b.source), 'bind source'), checkPath(b.destination, 'bind destination'), options));
  }
  for (const d of spec.devices ?? []) {
    out.push(line('dev', checkPath(d.source, 'device'), checkPath(d.destination ?? d.source, 'device destination')));
  }
  for (const dir of spec.mkdirs ?? []) out.push(line('mkdir', checkPath(dir, 'mkdir')));
  for (const arg of spec.command ?? []) out.push(line('cmd', arg));
  return `${out.join('\n')}\n`;
}
