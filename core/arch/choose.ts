// Run-time choice: of the images locked for an environment, the best one this host's CPU can
// run, or a refusal that names the missing features instead of a later `Illegal instruction`.

import { EnvlockError } from '../errors.js';
import type { LockedImage } from '../../lockfiles/model.js';
import { platformString } from '../../lockfiles/model.js';
import { missingFeatures, sortCodePoint } from './features.js';
import type { HostCpu } from './host.js';
import { findLevel, levelForVariant } from './levels.js';

export interface ChosenImage {
  image: LockedImage;
  /** Always empty for a chosen image; kept so callers can report uniformly. */
  missing: string[];
}

export interface ChooseOptions {
  /** The environment's name, for messages. */
  environment?: string;
}

/** How good an image is: its level first, then how many features it may use. */
function score(image: LockedImage): [number, number] {
  const level = image.arch.level ? findLevel(image.arch.level) : levelForVariant(image.platform.architecture, image.platform.variant);
  return [level?.rank ?? 0, image.arch.features.length];
}

/** Whether `a` is a better variant than `b` (a higher level, then more features). */
export function better(a: LockedImage, b: LockedImage): boolean {
  const [la, fa] = score(a);
  const [lb, fb] = score(b);
  return la > lb || (la === lb && fa > fb);
}

/** "a, b, c and 4 more": long lists of features stay one readable line. */
function listWords(words: string[], limit = 8): string {
  if (words.length <= limit) return words.join(', ');
  return `${words.slice(0, limit).join(', ')} and ${words.length - limit} more`;
}

function lockedList(images: LockedImage[]): string[] {
  return sortCodePoint([...new Set(images.map((i) => platformString(i.platform)))]);
}

/**
 * Picks the best locked image whose every required feature this host has. Throws
 * ARCH_UNSUPPORTED when nothing was locked for this os/architecture, and CPU_UNSUPPORTED (exit 4)
 * naming the closest variant's missing features when every candidate needs more.
 */
export function chooseImage(images: LockedImage[], host: HostCpu & { os: string }, options: ChooseOptions = {}): ChosenImage {
  const name = options.environment ? `\`${options.environment}\`` : 'this environment';
  const mine = images.filter((i) => i.platform.os === host.os && i.platform.architecture === host.architecture);
  if (mine.length === 0) {
    const locked = lockedList(images);
    throw new EnvlockError('ARCH_UNSUPPORTED', `No image of ${name} is locked for this host's platform ${host.os}/${host.architecture} (locked: ${locked.join(', ') || 'none'}).`, {
      hint: `Add ${host.os}/${host.architecture} to \`platforms:\` and run \`envlock lock\`, or run on a host of a locked platform.`,
      details: { environment: options.environment, host: `${host.os}/${host.architecture}`, locked },
    });
  }
  let best: LockedImage | undefined;
  for (const image of mine) {
    if (missingFeatures(image.arch.features, host.features).length > 0) continue;
    if (best === undefined || better(image, best)) best = image;
  }
  if (best) return { image: best, missing: [] };
  throw cpuUnsupported(mine, host, name, options.environment);
}

function cpuUnsupported(images: LockedImage[], host: HostCpu & { os: string }, name: string, environment: string | undefined): EnvlockError {
  const gaps = images.map((image) => ({ image, missing: missingFeatures(image.arch.features, host.features) }));
  // The closest variant lacks the fewest features; on a tie the lower one, since it asks least.
  gaps.sort((a, b) => a.missing.length - b.missing.length || score(a.image)[0] - score(b.image)[0]);
  const closest = gaps[0]!;
  const locked = lockedList(images);
  const everyone = gaps.every((g) => closest.missing.every((f) => g.missing.includes(f)));
  const whose = everyone
    ? `every locked variant of ${name}`
    : `${name}'s closest locked variant ${platformString(closest.image.platform)}, and no other variant fits`;
  const hostVariant = findLevel(host.level)?.variant;
  const lower = hostVariant ? `${host.os}/${host.architecture}/${hostVariant}` : 'a lower variant';
  return new EnvlockError(
    'CPU_UNSUPPORTED',
    `This CPU lacks ${listWords(closest.missing)} needed by ${whose} (locked: ${locked.join(', ')}); ${host.level === 'unknown' ? 'this host reaches no known CPU level' : `this host is ${host.level}`}.`,
    {
      hint: `Run on a node whose CPU has these features, or declare ${lower} (or a lower \`cpu:\`) and run \`envlock lock\` to lock an image this CPU can run.`,
      details: { environment, missing: closest.missing, closest: platformString(closest.image.platform), locked, hostLevel: host.level },
    },
  );
}
