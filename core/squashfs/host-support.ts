// Can this host use squashfs images unprivileged? Four things must hold: the addon has the
// writer (libsquashfs), the launcher can mount (built with squashfuse and fuse3), /dev/fuse
// opens for this user, and user namespaces work. Each failing part names its fix.

import { closeSync, constants, openSync } from 'node:fs';
import type { Env } from '../context.js';
import { errnoCode, isEnvlockError } from '../errors.js';
import { BUILD_HINT, launcherPath } from '../runtime/launcher-path.js';
import { launcherFeatures } from '../runtime/launcher-features.js';
import { sqfsWriterClass } from './native-writer.js';

export interface SupportPart {
  ok: boolean;
  /** Why not, as a clause: "/dev/fuse is not accessible to this user (mode 0600)". */
  reason?: string;
  fix?: string;
}

export interface SquashfsSupport {
  ok: boolean;
  writer: SupportPart;
  launcher: SupportPart;
  fuse: SupportPart;
  userns: SupportPart;
  /** The first failing part's reason and fix. */
  reason?: string;
  fix?: string;
}

export interface SupportProbes {
  writer?: () => SupportPart;
  launcher?: () => SupportPart;
  fuse?: () => SupportPart;
  userns?: () => SupportPart;
}

export const FUSE_DEVICE = '/dev/fuse';

export function writerPart(): SupportPart {
  try {
    if (sqfsWriterClass() !== undefined) return { ok: true };
    return { ok: false, reason: 'this envlock was built without its squashfs writer (libsquashfs-dev was missing)', fix: 'Install libsquashfs-dev (apt-get install libsquashfs-dev) and run `npm rebuild envlock`.' };
  } catch (error) {
    return { ok: false, reason: isEnvlockError(error) ? error.message.replace(/\.$/, '') : String(error), fix: BUILD_HINT };
  }
}

/** Asks the launcher what it was built with (`envlock-launch --features`, one word a line). */
export function launcherPart(launcher: string): SupportPart {
  const features = launcherFeatures(launcher);
  if (features.why !== undefined) return { ok: false, reason: `the launcher ${launcher} could not be run (${features.why})`, fix: BUILD_HINT };
  if (features.words === undefined) return { ok: false, reason: `the launcher ${launcher} does not say what it supports (it predates squashfs support)`, fix: BUILD_HINT };
  if (features.words.includes('squashfs')) return { ok: true };
  return { ok: false, reason: 'the launcher was built without squashfs support (squashfuse is missing: libsquashfuse-dev and libfuse3-dev were not installed)', fix: 'Install libsquashfuse-dev and libfuse3-dev (apt-get install libsquashfuse-dev libfuse3-dev) and run `npm rebuild envlock`.' };
}

export function fusePart(device = FUSE_DEVICE): SupportPart {
  try {
    closeSync(openSync(device, constants.O_RDWR));
    return { ok: true };
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT') return { ok: false, reason: `${device} does not exist (the fuse kernel module is not loaded)`, fix: 'An administrator must load it: `modprobe fuse`.' };
    if (code === 'EACCES' || code === 'EPERM') return { ok: false, reason: `${device} is not accessible to this user`, fix: `An administrator must make it usable by everyone, as udev does on a stock host: \`chmod 666 ${device}\` (and a udev rule to keep it).` };
    return { ok: false, reason: `${device} cannot be opened (${code ?? String(error)})`, fix: 'Ask the administrator to check the fuse device.' };
  }
}

export async function usernsPart(): Promise<SupportPart> {
  try {
    const { probeUserNamespaces } = await import('../runtime/userns.js');
    const probe = probeUserNamespaces();
    return probe.ok ? { ok: true } : { ok: false, reason: probe.reason ?? 'user namespaces are unavailable', ...(probe.fix ? { fix: probe.fix } : {}) };
  } catch (error) {
    return { ok: false, reason: isEnvlockError(error) ? error.message.replace(/\.$/, '') : String(error), fix: BUILD_HINT };
  }
}

/** All four parts; `probes` replace parts in tests. */
export async function squashfsSupport(env: Env, probes: SupportProbes = {}): Promise<SquashfsSupport> {
  const writer = (probes.writer ?? writerPart)();
  const launcher = (probes.launcher ?? (() => defaultLauncherPart(env)))();
  const fuse = (probes.fuse ?? fusePart)();
  const userns = probes.userns?.() ?? (await usernsPart());
  const first = [writer, launcher, fuse, userns].find((part) => !part.ok);
  return {
    ok: first === undefined,
    writer,
    launcher,
    fuse,
    userns,
    ...(first?.reason === undefined ? {} : { reason: first.reason }),
    ...(first?.fix === undefined ? {} : { fix: first.fix }),
  };
}

function defaultLauncherPart(env: Env): SupportPart {
  try {
    return launcherPart(launcherPath(env));
  } catch (error) {
    return { ok: false, reason: isEnvlockError(error) ? error.message.replace(/\.$/, '') : String(error), fix: BUILD_HINT };
  }
}
