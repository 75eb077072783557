// Turns what went wrong talking to a registry (a socket error, a TLS failure, an HTTP status) into
// one EnvlockError sentence naming the reference and the registry, with a remedy.

import { EnvlockError, errnoCode, isEnvlockError } from '../errors.js';

/** What a request was for: used in every message. */
export interface Subject {
  /** The reference as the user wrote it, canonical form. */
  reference: string;
  /** host[:port] the request went to. */
  registry: string;
  /** "the manifest", "tag `latest`", "blob sha256:…". */
  what: string;
  /** For 404 messages: "tag `x` not found in `repo` at `registry`". */
  notFound: string;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
const TIMEOUTS = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** The errno-like code of an error or of the first error in its cause chain / aggregate. */
export function failureCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    const code = errnoCode(current);
    if (code !== undefined && code !== 'UND_ERR') return code;
    if (current instanceof AggregateError && current.errors.length > 0) current = current.errors[0];
    else current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isTlsFailure(code: string | undefined): boolean {
  if (code === undefined) return false;
  return code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code === 'EPROTO' || code.includes('CERT') || code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE';
}

export function isTimeout(code: string | undefined): boolean {
  return code !== undefined && TIMEOUTS.has(code);
}

/** Maps a transport-level failure (no HTTP status) to an EnvlockError. */
export function transportFailure(error: unknown, subject: Subject, signal?: AbortSignal): EnvlockError {
  if (isEnvlockError(error)) return error;
  if (signal?.aborted || (error as { name?: string } | undefined)?.name === 'AbortError') {
    return new EnvlockError('INTERRUPTED', `Fetching ${subject.what} of ${subject.reference} from ${subject.registry} was interrupted.`, {
      hint: 'Run the command again to continue.',
      cause: error,
    });
  }
  const code = failureCode(error);
  if (code !== undefined && UNREACHABLE.has(code)) {
    return new EnvlockError('REGISTRY_UNREACHABLE', `The registry ${subject.registry} for ${subject.reference} could not be reached (${code}).`, {
      hint: 'Check the host name, the port and your network, or configure a mirror in registries.conf.',
      cause: error,
    });
  }
  if (isTlsFailure(code)) {
    return new EnvlockError('REGISTRY_TLS', `The TLS connection to ${subject.registry} for ${subject.reference} failed (${code}).`, {
      hint: `If ${subject.registry} serves plain HTTP or a self-signed certificate, mark it \`insecure = true\` in registries.conf; otherwise check the system CA certificates.`,
      cause: error,
    });
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    // Said apart from a slow answer: the cause is a host, port or firewall, not a busy registry.
    return new EnvlockError('REGISTRY_TIMEOUT', `The connection to the registry ${subject.registry} timed out before it opened, fetching ${subject.what} of ${subject.reference} (${code}).`, {
      hint: 'Check the host name, the port and any firewall, or configure a mirror in registries.conf; ENVLOCK_CONNECT_TIMEOUT sets how many seconds a connection may take to open.',
      cause: error,
    });
  }
  if (isTimeout(code)) {
    return new EnvlockError('REGISTRY_TIMEOUT', `The registry ${subject.registry} did not answer in time for ${subject.what} of ${subject.reference} (${code}).`, {
      hint: 'Try again later, or configure a closer mirror in registries.conf.',
      cause: error,
    });
  }
  return new EnvlockError('REGISTRY_UNREACHABLE', `The connection to ${subject.registry} broke while fetching ${subject.what} of ${subject.reference} (${code ?? (error as Error)?.message ?? 'unknown error'}).`, {
    hint: 'Check your network and run the command again; downloads resume where they stopped.',
    cause: error,
  });
}

export interface StatusFailureInit {
  status: number;
  subject: Subject;
  /** Whether credentials were sent (decides the 401 message). */
  credentialsSource?: string;
  /** Where envlock looks for credentials, for the hint. */
  credentialFiles: string;
  /** Body text from the registry's error document, if any. */
  detail?: string;
}

/** Maps a final non-success HTTP status to an EnvlockError. */
export function statusFailure(init: StatusFailureInit): EnvlockError {
  const { status, subject } = init;
  const detail = init.detail === undefined || init.detail === '' ? '' : ` (${init.detail})`;
  switch (status) {
    case 401:
      if (init.credentialsSource === undefined) {
        return new EnvlockError('REGISTRY_AUTH', `The registry ${subject.registry} requires credentials to pull ${subject.reference}${detail}.`, {
          // Docker Hub answers 401 for repositories that do not exist as well (charliecloud registry.py).
          hint: `Log in with \`podman login ${subject.registry}\` or \`docker login ${subject.registry}\`, or add credentials to one of: ${init.credentialFiles}. If the image should be public, check the repository name: some registries answer this way for repositories that do not exist.`,
        });
      }
      return new EnvlockError('REGISTRY_AUTH', `The registry ${subject.registry} rejected the credentials from ${init.credentialsSource} for ${subject.reference}${detail}.`, {
        hint: `Log in again with \`podman login ${subject.registry}\` or \`docker login ${subject.registry}\`.`,
      });
    case 403:
      return new EnvlockError('REGISTRY_DENIED', `The registry ${subject.registry} denied access to ${subject.what} of ${subject.reference}${detail}.`, {
        hint: 'Ask the repository owner for pull access, or log in as a user who has it.',
      });
    case 404:
      return new EnvlockError('REGISTRY_NOT_FOUND', `${subject.notFound}${detail}.`, {
        hint: 'Check the repository name and the tag or digest (`skopeo list-tags` lists the tags).',
      });
    case 429:
    case 502:
    case 503:
    case 504:
      return new EnvlockError('REGISTRY_RATE_LIMITED', `The registry ${subject.registry} kept answering HTTP ${status} for ${subject.what} of ${subject.reference}, after several retries.`, {
        hint: 'Wait a few minutes and try again; logging in often raises rate limits.',
      });
    default:
      return new EnvlockError('REGISTRY_PROTOCOL', `The registry ${subject.registry} answered HTTP ${status} for ${subject.what} of ${subject.reference}${detail}.`, {
        hint: 'Check that the host is an OCI registry; run with --verbose for details.',
      });
  }
}

/** The first message of a distribution-spec error document ({"errors":[{code,message}]}), if any. */
export function registryErrorDetail(body: Buffer): string | undefined {
  try {
    const doc = JSON.parse(body.toString('utf8')) as { errors?: { code?: unknown; message?: unknown }[] };
    const first = doc.errors?.[0];
    if (first === undefined) return undefined;
    return [first.code, first.message].filter((x) => typeof x === 'string' && x !== '').join(': ');
  } catch {
    return undefined;
  }
}
