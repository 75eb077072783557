// Optional parts of the build that tests need. scripts/test.sh installs everything they use, so
// there a missing part must fail its tests, never skip them (a skipped test is not a pass). A
// developer without a part says so: ENVLOCK_TEST_ALLOW_MISSING=squashfs (comma-separated), and
// only then are the tests that need it skipped.

export type Feature = 'squashfs';

export const ALLOW_MISSING_VAR = 'ENVLOCK_TEST_ALLOW_MISSING';

/** Whether this run was told it may go without `feature`. */
export function allowedMissing(feature: Feature, env: NodeJS.ProcessEnv = process.env): boolean {
  return (env[ALLOW_MISSING_VAR] ?? '').split(',').map((s) => s.trim()).includes(feature);
}

/** For it.skipIf: skip only when `feature` is absent and the run allows that; otherwise run (and fail if absent). */
export function skipWithout(feature: Feature, present: boolean): boolean {
  return !present && allowedMissing(feature);
}
