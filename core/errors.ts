// The one error type envlock throws for anything a user can cause or fix, and the
// closed list of its codes. Codes and exit statuses are frozen: add, never renumber.

export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  LOCK_STALE: 3,
  HOST_UNSUPPORTED: 4,
  INTERNAL: 70,
  RUN_LAUNCH_FAILED: 125,
  RUN_CANNOT_EXECUTE: 126,
  RUN_NOT_FOUND: 127,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Every error code, with the exit status it ends the process with. */
export const ERROR_CODES = {
  // usage: the command line itself is wrong
  USAGE: EXIT.USAGE,
  UNKNOWN_COMMAND: EXIT.USAGE,
  UNKNOWN_FLAG: EXIT.USAGE,
  FLAG_VALUE: EXIT.USAGE,
  // declaration
  DECLARATION_MISSING: EXIT.FAILURE,
  DECLARATION_SYNTAX: EXIT.FAILURE,
  DECLARATION_INVALID: EXIT.FAILURE,
  DECLARATION_AMBIGUOUS: EXIT.FAILURE,
  DECLARATION_EXISTS: EXIT.FAILURE,
  ENVIRONMENT_UNKNOWN: EXIT.FAILURE,
  // lockfile
  LOCK_MISSING: EXIT.LOCK_STALE,
  LOCK_STALE: EXIT.LOCK_STALE,
  LOCK_SYNTAX: EXIT.FAILURE,
  LOCK_INVALID: EXIT.FAILURE,
  LOCK_VERSION_UNSUPPORTED: EXIT.FAILURE,
  LOCK_MANIFEST_MISMATCH: EXIT.FAILURE,
  // references and registries
  REFERENCE_INVALID: EXIT.FAILURE,
  REGISTRY_UNREACHABLE: EXIT.FAILURE,
  REGISTRY_TLS: EXIT.FAILURE,
  REGISTRY_AUTH: EXIT.FAILURE,
  REGISTRY_DENIED: EXIT.FAILURE,
  REGISTRY_NOT_FOUND: EXIT.FAILURE,
  REGISTRY_RATE_LIMITED: EXIT.FAILURE,
  REGISTRY_PROTOCOL: EXIT.FAILURE,
  REGISTRY_TIMEOUT: EXIT.FAILURE,
  MANIFEST_UNSUPPORTED: EXIT.FAILURE,
  DIGEST_INVALID: EXIT.FAILURE,
  DIGEST_MISMATCH: EXIT.FAILURE,
  SIZE_MISMATCH: EXIT.FAILURE,
  PLATFORM_INVALID: EXIT.FAILURE,
  PLATFORM_UNAVAILABLE: EXIT.FAILURE,
  CPU_LEVEL_UNKNOWN: EXIT.FAILURE,
  CONFIG_INVALID: EXIT.FAILURE,
  OFFLINE: EXIT.FAILURE,
  LAYOUT_INVALID: EXIT.FAILURE,
  LAYOUT_REF_UNKNOWN: EXIT.FAILURE,
  // store and unpack
  STORE_IO: EXIT.FAILURE,
  STORE_FULL: EXIT.FAILURE,
  STORE_READ_ONLY: EXIT.FAILURE,
  STORE_LOCKED: EXIT.FAILURE,
  IMAGE_NOT_PULLED: EXIT.FAILURE,
  STORE_DAMAGED: EXIT.FAILURE,
  STORE_UNTRUSTED: EXIT.FAILURE,
  STORE_LAYOUT_UNSUPPORTED: EXIT.FAILURE,
  LAYER_UNSAFE_PATH: EXIT.FAILURE,
  LAYER_CORRUPT: EXIT.FAILURE,
  LAYER_TOO_LARGE: EXIT.FAILURE,
  LAYER_MEDIA_TYPE: EXIT.FAILURE,
  LAYER_UNSUPPORTED: EXIT.FAILURE,
  DIFF_ID_MISMATCH: EXIT.FAILURE,
  // host and runtime
  CPU_UNSUPPORTED: EXIT.HOST_UNSUPPORTED,
  ARCH_UNSUPPORTED: EXIT.HOST_UNSUPPORTED,
  CPU_DETECTION_FAILED: EXIT.HOST_UNSUPPORTED,
  USERNS_UNAVAILABLE: EXIT.HOST_UNSUPPORTED,
  ABI_INCOMPATIBLE: EXIT.HOST_UNSUPPORTED,
  RUNTIME_UNAVAILABLE: EXIT.HOST_UNSUPPORTED,
  SQUASHFS_UNAVAILABLE: EXIT.HOST_UNSUPPORTED,
  BIND_INVALID: EXIT.RUN_LAUNCH_FAILED,
  LAUNCH_FAILED: EXIT.RUN_LAUNCH_FAILED,
  COMMAND_NOT_EXECUTABLE: EXIT.RUN_CANNOT_EXECUTE,
  COMMAND_NOT_FOUND: EXIT.RUN_NOT_FOUND,
  // host integration
  CDI_INVALID: EXIT.FAILURE,
  CDI_DEVICE_UNKNOWN: EXIT.HOST_UNSUPPORTED,
  CDI_CONFLICT: EXIT.FAILURE,
  CDI_HOOK_FORBIDDEN: EXIT.HOST_UNSUPPORTED,
  GPU_UNAVAILABLE: EXIT.HOST_UNSUPPORTED,
  HOST_LIBRARY_NOT_FOUND: EXIT.HOST_UNSUPPORTED,
  // modules
  MODULE_UNKNOWN: EXIT.FAILURE,
  MODULE_AMBIGUOUS: EXIT.FAILURE,
  MODULE_TREE_INVALID: EXIT.FAILURE,
  MODULE_COMMAND_MISSING: EXIT.FAILURE,
  // generic
  CHECK_FAILED: EXIT.FAILURE,
  INTERRUPTED: EXIT.FAILURE,
  IO: EXIT.FAILURE,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface EnvlockErrorOptions {
  /** The remedy, in the imperative: "Run `envlock lock`." */
  hint?: string;
  cause?: unknown;
  /** Overrides the exit status implied by the code (rare; run/shell pass-through). */
  exitCode?: number;
  /** Structured evidence for --json output (paths, digests, lists). */
  details?: Record<string, unknown>;
}

export class EnvlockError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly exitCode: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: EnvlockErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EnvlockError';
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? ERROR_CODES[code];
    this.details = options.details;
  }
}

export function isEnvlockError(value: unknown): value is EnvlockError {
  return value instanceof EnvlockError;
}

/** Node's errno code of a system error, if it is one. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
