// Image references: registry references normalised the way distribution/reference does
// (normalize.go: splitDockerDomain), plus the local `oci:` and `oci-archive:` sources.

import path from 'node:path';
import { EnvlockError } from '../errors.js';
import { shortened } from '../shown.js';
import { assertDigest } from '../oci/digest.js';
import { DOCKER_HUB, DOCKER_HUB_LEGACY, DOCKER_HUB_OFFICIAL_NAMESPACE } from './docker-hub.js';

export const DEFAULT_REGISTRY = DOCKER_HUB;

export interface RegistryReference {
  kind: 'registry';
  /** Host[:port] as written (after Docker Hub normalisation). */
  registry: string;
  /** Repository path inside the registry, e.g. "library/ubuntu". */
  repository: string;
  tag?: string;
  digest?: string;
  /** registry/repository[:tag][@digest]. */
  canonical(): string;
}

export interface LocalReference {
  kind: 'oci-layout' | 'oci-archive';
  /** Absolute path of the layout directory or archive file. */
  path: string;
  tag?: string;
  canonical(): string;
}

export type ImageReference = RegistryReference | LocalReference;

export interface ParseOptions {
  /** Directory that relative `oci:`/`oci-archive:` paths are resolved against. */
  baseDir?: string;
  /** Registry for unqualified names (registries.conf unqualified-search-registries[0]). */
  defaultRegistry?: string;
}

// distribution-spec "Pulling manifests": path components and tags.
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
// distribution/reference: domain-name components, optional port, or a bracketed IPv6 literal.
const DOMAIN = /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/;
const NAME_MAX = 255;

function invalid(input: string, why: string, hint?: string): EnvlockError {
  return new EnvlockError('REFERENCE_INVALID', `The image reference ${JSON.stringify(shortened(input))} is invalid: ${why}.`, {
    hint: hint ?? 'Write it as [registry/]repository[:tag][@sha256:digest], oci:DIR[:TAG] or oci-archive:FILE[:TAG].',
  });
}

export function registryReference(registry: string, repository: string, tag?: string, digest?: string): RegistryReference {
  const ref: RegistryReference = {
    kind: 'registry',
    registry,
    repository,
    canonical() {
      return `${registry}/${repository}${tag === undefined ? '' : `:${tag}`}${digest === undefined ? '' : `@${digest}`}`;
    },
  };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** True when the first path component names a registry host (splitDockerDomain's rule). */
function looksLikeHost(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost' || component !== component.toLowerCase();
}

/** Parses `[registry/]repo[:tag][@digest]`; an absent tag and digest means `:latest`. */
export function parseRegistryReference(input: string, options: ParseOptions = {}): RegistryReference {
  let rest = input.startsWith('docker://') ? input.slice('docker://'.length) : input;
  if (rest === '') throw invalid(input, 'it is empty');
  if (/\s/.test(rest)) throw invalid(input, 'it contains white space');

  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    const candidate = rest.slice(at + 1);
    try {
      digest = assertDigest(candidate, `the reference ${JSON.stringify(shortened(input))}`);
    } catch (error) {
      throw invalid(input, `${JSON.stringify(shortened(candidate))} is not a valid digest`, 'Write the digest as sha256:<64 lower-case hex digits>.');
    }
    rest = rest.slice(0, at);
  }

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      throw invalid(input, `the tag ${JSON.stringify(shortened(tag))} is not valid`, 'Tags are 1-128 characters of letters, digits, "_", "." and "-", and do not start with "." or "-".');
    }
  }

  const slash = rest.indexOf('/');
  let registry = options.defaultRegistry ?? DEFAULT_REGISTRY;
  let repository = rest;
  if (slash !== -1 && looksLikeHost(rest.slice(0, slash))) {
    registry = rest.slice(0, slash);
    repository = rest.slice(slash + 1);
    if (!DOMAIN.test(registry)) throw invalid(input, `${JSON.stringify(shortened(registry))} is not a valid registry host`);
  }
  if (registry === DOCKER_HUB_LEGACY) registry = DOCKER_HUB;
  // Only Docker Hub puts single-component names under "library/" (normalize.go).
  if (registry === DOCKER_HUB && repository !== '' && !repository.includes('/')) {
    repository = `${DOCKER_HUB_OFFICIAL_NAMESPACE}/${repository}`;
  }
  if (repository === '') throw invalid(input, 'the repository name is missing');
  if (repository !== repository.toLowerCase()) {
    throw invalid(input, 'repository names must be lower-case', `Write ${JSON.stringify(shortened(repository.toLowerCase()))} instead.`);
  }
  for (const component of repository.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      throw invalid(input, `the repository path component ${JSON.stringify(shortened(component))} is not valid`,
        'Repository path components are lower-case letters and digits, separated by ".", "_", "__" or dashes.');
    }
  }
  if (registry.length + 1 + repository.length > NAME_MAX) throw invalid(input, `the name is longer than ${NAME_MAX} characters`);
  if (tag === undefined && digest === undefined) tag = 'latest';
  return registryReference(registry, repository, tag, digest);
}

function parseLocal(kind: LocalReference['kind'], input: string, body: string, options: ParseOptions): LocalReference {
  // containers-transports(5): the path ends at the first colon; what follows is the tag.
  const colon = body.indexOf(':');
  const rawPath = colon === -1 ? body : body.slice(0, colon);
  const tag = colon === -1 ? undefined : body.slice(colon + 1);
  if (rawPath === '') throw invalid(input, 'the path is missing', `Write it as ${kind === 'oci-layout' ? 'oci:DIR[:TAG]' : 'oci-archive:FILE[:TAG]'}.`);
  if (tag !== undefined && (tag === '' || /[\s\x00-\x1f]/.test(tag))) throw invalid(input, `the tag ${JSON.stringify(shortened(tag))} is not valid`);
  const absolute = path.resolve(options.baseDir ?? '/', rawPath);
  const ref: LocalReference = {
    kind,
    path: absolute,
    canonical: () => `${kind === 'oci-layout' ? 'oci' : 'oci-archive'}:${absolute}${tag === undefined ? '' : `:${tag}`}`,
  };
  if (tag !== undefined) ref.tag = tag;
  return ref;
}

/** Parses any reference envlock accepts: a registry reference, `oci:PATH[:TAG]` or `oci-archive:FILE[:TAG]`. */
export function parseReference(input: string, options: ParseOptions = {}): ImageReference {
  if (input.startsWith('oci:')) return parseLocal('oci-layout', input, input.slice(4), options);
  if (input.startsWith('oci-archive:')) return parseLocal('oci-archive', input, input.slice('oci-archive:'.length), options);
  return parseRegistryReference(input, options);
}

/** The same repository, pinned to a digest (what a source fetches after resolving a tag). */
export function withDigest(ref: RegistryReference, digest: string): RegistryReference {
  return registryReference(ref.registry, ref.repository, undefined, digest);
}
