// The lockfile format's public API: the model, reading, canonical writing, the declaration hash
// and the staleness check. Callers import from here, not from the individual files.

export * from './model.js';
export { compareCodePoints, sortedSet } from './compare.js';
export { canonicalLockfile } from './canonical.js';
export { parseLockfile, readLockfile } from './parse.js';
export { serializeLockfile, writeLockfile, LOCKFILE_HEADER } from './write.js';
export type { WriteResult } from './write.js';
export { declarationHash, environmentInputs, lockedInputs, canonicalJson, canonicallyEqual, DECLARATION_HASH_SCHEME } from './declaration-hash.js';
export type { EnvironmentInputs } from './declaration-hash.js';
export { staleReasons, assertFresh, REASON_NO_LOCK, REASON_HASH } from './staleness.js';
export type { FreshnessOptions } from './staleness.js';
