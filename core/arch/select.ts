// Lock-time selection: which manifests of an image index (or which single manifest) to lock for
// each declared platform and CPU minimum, and the ArchFlags each one needs at run time.

import { EnvlockError } from '../errors.js';
import { normalisePlatform } from '../declaration/platform.js';
import type { ArchFlags, Descriptor, LockedPlatform } from '../../lockfiles/model.js';
import { platformString } from '../../lockfiles/model.js';
import { normaliseFeatures, sortCodePoint, splitFeatureList } from './features.js';
import { findLevel, levelCovers, levelForVariant, normaliseVariant, type CpuLevel } from './levels.js';
import { findMicroarch, resolveCpuRequirement, type CpuRequirement } from './microarchs.js';
import { quoted } from '../shown.js';

export { chooseImage, type ChosenImage } from './choose.js';

/** Annotation on an index entry: extra CPU features the manifest needs, comma-separated. */
export const FEATURES_ANNOTATION = 'org.envlock.cpu.features';
/** Annotation on an index entry: the named microarchitecture the manifest was built for. */
export const MICROARCH_ANNOTATION = 'org.envlock.cpu.microarch';

/** image-spec image-index.md `platform`; `features` is reserved there and read when present. */
export interface OciPlatform {
  os: string;
  architecture: string;
  variant?: string;
  features?: string[];
  'os.version'?: string;
  'os.features'?: string[];
}

/** One entry of an index's `manifests` array. */
export interface IndexManifest {
  mediaType: string;
  digest: string;
  size: number;
  platform?: OciPlatform;
  annotations?: Record<string, string>;
}

/** A manifest to lock, with the platform (variant made explicit) and what it needs of a CPU. */
export interface LockCandidate {
  manifest: Descriptor;
  platform: LockedPlatform;
  arch: ArchFlags;
}

export interface PlatformChoice {
  /** The declared platform, normalised ("linux/amd64"). */
  declared: string;
  /** Sorted by platform string, then level (best last). */
  candidates: LockCandidate[];
}

interface Offer {
  manifest: Descriptor;
  platform: LockedPlatform;
  level: CpuLevel | undefined;
  features: string[];
  microarch: string | undefined;
}

/** buildx stores attestations as index children with platform unknown/unknown (Docker docs). */
function isAttestation(entry: IndexManifest): boolean {
  return entry.platform?.os === 'unknown' || entry.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest';
}

function toOffer(manifest: Descriptor, platform: OciPlatform, annotations: Record<string, string> = {}): Offer {
  const architecture = platform.architecture;
  const variant = normaliseVariant(architecture, platform.variant);
  const locked: LockedPlatform = variant ? { os: platform.os, architecture, variant } : { os: platform.os, architecture };
  const micro = annotations[MICROARCH_ANNOTATION] ? findMicroarch(annotations[MICROARCH_ANNOTATION]) : undefined;
  const named = [...(platform.features ?? []), ...splitFeatureList(annotations[FEATURES_ANNOTATION] ?? ''), ...(micro?.features ?? [])];
  return {
    manifest,
    platform: locked,
    level: levelForVariant(architecture, variant),
    features: normaliseFeatures(architecture, named),
    microarch: micro?.name,
  };
}

/** "os/arch[/variant]" split, after the declaration's own normalisation (PLATFORM_INVALID). */
function parseDeclared(text: string): LockedPlatform {
  const [os, architecture, variant] = normalisePlatform(text).split('/') as [string, string, string | undefined];
  return variant ? { os, architecture, variant } : { os, architecture };
}

function rank(level: CpuLevel | undefined): number {
  return level?.rank ?? 0;
}

/**
 * Applies a CPU minimum of the same architecture. Offers at or above the minimum level stay.
 * Offers below it go, except the best of them when no kept offer sits at the minimum itself:
 * a host exactly at the minimum cannot run the newer ones, and the lower one runs there.
 */
function applyMinimum(offers: Offer[], requirement: CpuRequirement): Offer[] {
  const minimum = findLevel(requirement.level)!;
  const meets = (o: Offer) => o.level === undefined || levelCovers(o.level, minimum);
  const kept = offers.filter(meets);
  const floorCovered = kept.some((o) => o.level === undefined || levelCovers(minimum, o.level));
  if (floorCovered) return kept;
  const below = offers.filter((o) => !meets(o)).sort((a, b) => rank(b.level) - rank(a.level));
  return below[0] ? [below[0], ...kept] : kept;
}

function archFlags(offer: Offer, requirement: CpuRequirement | undefined): ArchFlags {
  const applies = requirement !== undefined && requirement.architecture === offer.platform.architecture;
  const minimum = applies ? findLevel(requirement.level) : undefined;
  const level = minimum && (!offer.level || minimum.rank > offer.level.rank) ? minimum : offer.level;
  const features = new Set([...(level?.features ?? []), ...(offer.level?.features ?? []), ...offer.features, ...(applies ? requirement.features : [])]);
  const flags: ArchFlags = { features: sortCodePoint([...features]) };
  if (level) flags.level = level.name;
  const microarch = (applies ? requirement.microarch : undefined) ?? offer.microarch;
  if (microarch) flags.microarch = microarch;
  return flags;
}

function compareCandidates(a: LockCandidate, b: LockCandidate): number {
  const pa = platformString(a.platform);
  const pb = platformString(b.platform);
  if (pa !== pb) return pa < pb ? -1 : 1;
  const la = rank(a.arch.level ? findLevel(a.arch.level) : undefined);
  const lb = rank(b.arch.level ? findLevel(b.arch.level) : undefined);
  if (la !== lb) return la - lb;
  if (a.arch.features.length !== b.arch.features.length) return a.arch.features.length - b.arch.features.length;
  return a.manifest.digest < b.manifest.digest ? -1 : a.manifest.digest > b.manifest.digest ? 1 : 0;
}

/** Offers that match one declared platform; the first of identical offers wins (image-index.md). */
function matching(offers: Offer[], declared: LockedPlatform): Offer[] {
  const wanted = declared.variant === undefined ? undefined : normaliseVariant(declared.architecture, declared.variant);
  const seen = new Set<string>();
  const out: Offer[] = [];
  for (const offer of offers) {
    if (offer.platform.os !== declared.os || offer.platform.architecture !== declared.architecture) continue;
    if (wanted !== undefined && offer.platform.variant !== wanted) continue;
    const key = `${platformString(offer.platform)} ${offer.microarch ?? ''} ${offer.features.join(',')}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(offer);
  }
  return out;
}

function unavailable(reference: string, declared: string, offers: Offer[]): EnvlockError {
  const offered = sortCodePoint([...new Set(offers.map((o) => platformString(o.platform)))]);
  const list = offered.length > 0 ? `it offers ${offered.join(', ')}` : 'it offers no linux platform';
  return new EnvlockError('PLATFORM_UNAVAILABLE', `Image ${quoted(reference)} has no manifest for ${declared}; ${list}.`, {
    hint: offered.length > 0 ? `Declare one of the offered platforms in \`platforms:\`, or use an image built for ${declared}.` : `Use an image built for ${declared}.`,
    details: { reference, platform: declared, offered },
  });
}

function choose(reference: string, offers: Offer[], platforms: string[], cpu: string | undefined): PlatformChoice[] {
  const requirement = cpu === undefined ? undefined : resolveCpuRequirement(cpu);
  return platforms.map((text) => {
    const declared = parseDeclared(text);
    const name = platformString(declared);
    let found = matching(offers, declared);
    if (requirement && requirement.architecture === declared.architecture) found = applyMinimum(found, requirement);
    if (found.length === 0) throw unavailable(reference, name, offers);
    const candidates = found.map((o) => ({ manifest: o.manifest, platform: o.platform, arch: archFlags(o, requirement) })).sort(compareCandidates);
    return { declared: name, candidates };
  });
}

export interface IndexSelection {
  /** The reference as the user wrote it, for messages. */
  reference: string;
  manifests: IndexManifest[];
  /**
   * Declared platforms. When the declaration names none, pass the host's os/arch WITHOUT its
   * variant (hostPlatform() with no CPU), so every variant is locked, not just this node's best.
   */
  platforms: string[];
  /** Declared `cpu:` minimum. */
  cpu?: string;
}

/**
 * For each declared platform, every manifest of the index to lock. Without a declared variant
 * every variant of the architecture is locked (the best the host runs is chosen at run time);
 * with one, exactly that variant. Entries without a platform, attestations and other operating
 * systems are never chosen. Throws PLATFORM_UNAVAILABLE, CPU_LEVEL_UNKNOWN or PLATFORM_INVALID.
 */
export function selectFromIndex(input: IndexSelection): PlatformChoice[] {
  const offers: Offer[] = [];
  for (const entry of input.manifests) {
    if (!entry.platform || isAttestation(entry) || entry.platform.os !== 'linux') continue;
    const manifest: Descriptor = { mediaType: entry.mediaType, digest: entry.digest, size: entry.size };
    offers.push(toOffer(manifest, entry.platform, entry.annotations));
  }
  return choose(input.reference, offers, input.platforms, input.cpu);
}

export interface ManifestSelection {
  reference: string;
  manifest: Descriptor;
  /** os, architecture and variant from the image config. */
  platform: OciPlatform;
  /** The manifest's annotations, if any (the envlock CPU annotations are read from them). */
  annotations?: Record<string, string>;
  platforms: string[];
  cpu?: string;
}

/** A reference that names one manifest: it serves each declared platform its config matches. */
export function selectSingleManifest(input: ManifestSelection): PlatformChoice[] {
  const offers = input.platform.os === 'linux' ? [toOffer(input.manifest, input.platform, input.annotations)] : [];
  return choose(input.reference, offers, input.platforms, input.cpu);
}
