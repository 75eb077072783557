// Which hosts to ask for a reference, in order: the mirrors of the best-matching registries.conf
// entry (longest prefix, containers-registries.conf(5) "Choosing a [[registry]] TOML table"), then
// the primary location. Loopback hosts and entries marked insecure speak plain HTTP. docker.io
// names are kept as they are everywhere else; only the host connected to becomes the Hub's API host.

import { EnvlockError } from '../errors.js';
import type { RegistryConfig, RegistryEntry } from './config.js';
import { apiHostOf } from './docker-hub.js';
import { isLoopbackHost } from './hosts.js';
import type { RegistryReference } from './reference.js';

export interface Endpoint {
  /** host[:port] to connect to. */
  host: string;
  /** Repository path on that host (a mirror or location may add a path prefix). */
  repository: string;
  scheme: 'http' | 'https';
  mirror: boolean;
  /** Whether the config said insecure (for TLS hints). */
  insecure: boolean;
}

function prefixMatches(prefix: string, name: string, registry: string): boolean {
  if (prefix.startsWith('*.')) {
    const host = registry.toLowerCase();
    return host.endsWith(prefix.slice(1).toLowerCase());
  }
  return name === prefix || name.startsWith(`${prefix}/`);
}

/** The entry with the longest matching prefix (the first on ties, so envlock's own tables win). */
export function findRegistryEntry(config: RegistryConfig, ref: Pick<RegistryReference, 'registry' | 'repository'>): RegistryEntry | undefined {
  const name = `${ref.registry}/${ref.repository}`;
  let best: RegistryEntry | undefined;
  for (const entry of config.registries) {
    if (!prefixMatches(entry.prefix, name, ref.registry)) continue;
    if (best === undefined || entry.prefix.length > best.prefix.length) best = entry;
  }
  return best;
}

function rewrite(location: string, prefix: string, name: string, registry: string): { host: string; repository: string } {
  // A wildcard prefix has no location rewrite; the name keeps its own host.
  const target = prefix.startsWith('*.') ? name : location + name.slice(prefix.length);
  const slash = target.indexOf('/');
  if (slash === -1) return { host: target, repository: name.slice(registry.length + 1) };
  return { host: target.slice(0, slash), repository: target.slice(slash + 1) };
}

function endpoint(name: string, repository: string, insecure: boolean, mirror: boolean): Endpoint {
  const host = apiHostOf(name);
  return { host, repository, scheme: insecure || isLoopbackHost(host) ? 'http' : 'https', mirror, insecure };
}

/**
 * Endpoints to try for a pull, mirrors first. `pull-from-mirror` decides whether a mirror may
 * answer tag lookups ("all", "tag-only") or only digest fetches ("all", "digest-only").
 */
export function endpointsFor(config: RegistryConfig, ref: RegistryReference, byDigest: boolean): Endpoint[] {
  const name = `${ref.registry}/${ref.repository}`;
  const entry = findRegistryEntry(config, ref);
  if (entry === undefined) return [endpoint(ref.registry, ref.repository, false, false)];
  if (entry.blocked) {
    throw new EnvlockError('REGISTRY_DENIED', `The registry ${ref.registry} is blocked for ${ref.canonical()} by the registry configuration (${config.files.join(', ')}).`, {
      hint: 'Use another registry, or remove `blocked = true` from the matching [[registry]] entry.',
    });
  }
  const result: Endpoint[] = [];
  for (const mirror of entry.mirrors) {
    if (mirror.pullFromMirror === 'digest-only' && !byDigest) continue;
    if (mirror.pullFromMirror === 'tag-only' && byDigest) continue;
    const target = rewrite(mirror.location, entry.prefix, name, ref.registry);
    result.push(endpoint(target.host, target.repository, mirror.insecure, true));
  }
  const primary = rewrite(entry.location, entry.prefix, name, ref.registry);
  result.push(endpoint(primary.host, primary.repository, entry.insecure, false));
  return result;
}

/** The registry used for unqualified names: the first unqualified-search-registries entry. */
export function defaultRegistryOf(config: RegistryConfig): string | undefined {
  return config.unqualifiedSearchRegistries[0];
}
