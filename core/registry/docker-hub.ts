// Docker Hub's names in one place: the name references and locks use (`docker.io`), the legacy
// name docker folds into it, and the host that really serves its registry API.

/** The registry name of Docker Hub, as written in references and recorded in locks. */
export const DOCKER_HUB = 'docker.io';

/** The legacy name (docker's v1 index); references and credentials fold it into docker.io. */
export const DOCKER_HUB_LEGACY = 'index.docker.io';

/**
 * The host that serves Docker Hub's registry API. `docker.io` itself does not answer /v2/;
 * docker, containerd (its resolver's default host), podman and skopeo all send the API there.
 * This is the only place the name is written; a registries.conf mirror for docker.io replaces
 * it for sites without outbound access (docs/registries.md).
 */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';

/** The key `docker login` writes for Docker Hub, and the URL its credential helpers expect. */
export const DOCKER_HUB_AUTH_KEY = `https://${DOCKER_HUB_LEGACY}/v1/`;

/** Official images live under this namespace: `python` is `docker.io/library/python`. */
export const DOCKER_HUB_OFFICIAL_NAMESPACE = 'library';

/** Every host name that means Docker Hub, for matching credentials. */
export const DOCKER_HUB_NAMES: ReadonlySet<string> = new Set([DOCKER_HUB, DOCKER_HUB_LEGACY, DOCKER_HUB_API_HOST]);

/** The host to connect to for a registry name: Docker Hub's API host for docker.io, else the name. */
export function apiHostOf(registry: string): string {
  const lower = registry.toLowerCase();
  return lower === DOCKER_HUB || lower === DOCKER_HUB_LEGACY ? DOCKER_HUB_API_HOST : registry;
}
