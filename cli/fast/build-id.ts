// Which build of envlock is running: a digest of the whole bundle, stamped into it by
// scripts/bundle.mjs. Answers the fast paths record are keyed by it, so a rebuilt or upgraded
// envlock never reads what another build recorded. An unbundled build (tsc output, tests that
// import modules) has no id, and then nothing is recorded or answered from records at all.

const STAMP = '@@ENVLOCK_BUILD_ID@@';

export function buildId(): string | undefined {
  // Not a pattern: compiling one costs a start-up more than the whole comparison.
  return STAMP.startsWith('@@') ? undefined : STAMP;
}
