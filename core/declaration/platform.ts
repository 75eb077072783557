// Platform strings "os/arch[/variant]": aliases normalised the way containerd does
// (x86_64 → amd64, aarch64 → arm64, armhf → arm/v7) and only combinations envlock can run.

import { EnvlockError } from '../errors.js';
import { nearest } from '../suggest.js';
import { quoted } from '../shown.js';

/** Variants per architecture, after image-spec image-index.md "Platform Variants". */
const VARIANTS: Record<string, RegExp | null> = {
  amd64: /^v[1-4]$/,
  arm64: /^v(8|9)(\.[0-9])?$/,
  arm: /^v[5-8]$/,
  ppc64le: /^power(8|9|10)$/,
  riscv64: /^rva2[02]u64$/,
  s390x: null,
  '386': null,
};

const VARIANT_WORDS: Record<string, string> = {
  amd64: 'v1, v2, v3, v4',
  arm64: 'v8, v8.1 … v8.9, v9, v9.1 … v9.9',
  arm: 'v5, v6, v7, v8',
  ppc64le: 'power8, power9, power10',
  riscv64: 'rva20u64, rva22u64',
};

/** Architecture spellings from uname and distributions, mapped to the OCI (GOARCH) names. */
const ARCH_ALIASES: Record<string, string> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  i386: '386',
  i686: '386',
};

/** Debian's arm names carry their variant (containerd platforms `normalizeArch`). */
const ARCH_WITH_VARIANT: Record<string, [string, string]> = {
  armhf: ['arm', 'v7'],
  armel: ['arm', 'v6'],
};

/** In the order messages list them (spelled out: integer-like keys such as '386' would sort first). */
export const KNOWN_ARCHITECTURES = ['amd64', 'arm64', 'arm', 'ppc64le', 's390x', 'riscv64', '386'];

/** Every accepted os/arch pair, plus a word on the variants of each, for messages and docs. */
export function describeValidPlatforms(): string {
  return KNOWN_ARCHITECTURES.map((arch) => (VARIANT_WORDS[arch] ? `linux/${arch} (variants ${VARIANT_WORDS[arch]})` : `linux/${arch}`)).join(', ');
}

/** Candidate spellings for "did you mean": every os/arch and os/arch/variant written out. */
function candidates(): string[] {
  const out = KNOWN_ARCHITECTURES.map((a) => `linux/${a}`);
  out.push('linux/amd64/v2', 'linux/amd64/v3', 'linux/amd64/v4', 'linux/arm64/v8', 'linux/arm/v7', 'linux/arm/v6');
  return out;
}

/** The normalised platform, or a sentence saying why the text is not one. */
export function checkPlatform(text: string): { platform: string } | { problem: string } {
  const parts = text.trim().toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) {
    return { problem: `${quoted(text)} is not a platform; write os/arch or os/arch/variant` };
  }
  const [os, rawArch] = parts as [string, string];
  let arch = ARCH_ALIASES[rawArch] ?? rawArch;
  let variant = parts[2];
  const withVariant = ARCH_WITH_VARIANT[rawArch];
  if (withVariant !== undefined) {
    if (variant !== undefined && variant !== withVariant[1]) return { problem: `${quoted(text)} names ${rawArch}, which is always ${withVariant.join('/')}` };
    [arch, variant] = withVariant;
  }
  if (os !== 'linux') return { problem: `${quoted(text)} is not a platform envlock can run: the operating system must be linux` };
  if (!(arch in VARIANTS)) return { problem: `${quoted(text)} names an unknown architecture ${quoted(rawArch)}` };
  if (variant !== undefined) {
    const allowed = VARIANTS[arch];
    if (!allowed || !allowed.test(variant)) {
      const words = VARIANT_WORDS[arch];
      return { problem: `${quoted(text)} has an unknown variant ${quoted(variant)} for ${arch}; ${words ? `expected one of ${words}` : `${arch} has no variants`}` };
    }
    return { platform: `${os}/${arch}/${variant}` };
  }
  return { platform: `${os}/${arch}` };
}

function knownArch(word: string): string | undefined {
  const arch = ARCH_ALIASES[word] ?? word;
  return arch in VARIANTS ? arch : undefined;
}

/** A full sentence for an invalid platform: what is wrong, the nearest valid spelling, all valid ones. */
export function platformProblem(text: string, problem: string): string {
  const lower = text.trim().toLowerCase();
  // A bare architecture ("amd64", "x86_64") is the commonest slip: suggest it under linux.
  const bare = knownArch(lower);
  // A known architecture under another OS ("darwin/arm64"): the Linux one is what can run.
  const [os, arch] = lower.split('/');
  const underOtherOs = os !== 'linux' && arch !== undefined ? knownArch(arch) : undefined;
  const guess = bare !== undefined ? `linux/${bare}` : underOtherOs !== undefined ? `linux/${underOtherOs}` : nearest(lower, candidates());
  return `${problem}.${guess ? ` Did you mean ${quoted(guess)}?` : ''} Valid platforms: ${describeValidPlatforms()}.`;
}

/** Normalises one platform or throws PLATFORM_INVALID; for `--platform` flags. */
export function normalisePlatform(text: string): string {
  const checked = checkPlatform(text);
  if ('platform' in checked) return checked.platform;
  throw new EnvlockError('PLATFORM_INVALID', `Platform ${platformProblem(text, checked.problem)}`, {
    hint: 'Write the platform as os/arch[/variant], for example linux/amd64 or linux/arm64.',
  });
}
