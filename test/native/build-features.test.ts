// The build has every optional part scripts/test.sh installs the packages for: the addon's
// squashfs writer (libsquashfs-dev) and the launcher's squashfs mount (libsquashfuse-dev,
// libfuse3-dev). Without them the tests that need them would fail one by one with less clear
// messages; this says what is missing and how to get it, once.

import { describe, expect, it } from 'vitest';
import { sqfsWriterClass } from '../../core/squashfs/native-writer.js';
import { ALLOW_MISSING_VAR, skipWithout } from '../helpers/features.js';
import { ensureNativeBuild, launcherFeatures } from './fixture.js';

ensureNativeBuild();
const writer = sqfsWriterClass() !== undefined;
const launcher = launcherFeatures().includes('squashfs');

describe('the native build', () => {
  it.skipIf(skipWithout('squashfs', writer && launcher))('writes and mounts squashfs images', () => {
    const missing = [
      ...(writer ? [] : ['the addon has no squashfs writer (install libsquashfs-dev, then npm ci)']),
      ...(launcher ? [] : ['the launcher cannot mount squashfs (install libsquashfuse-dev and libfuse3-dev, then npm ci)']),
    ];
    expect(missing, `${missing.join('; ')}; or set ${ALLOW_MISSING_VAR}=squashfs to skip the tests that need it`).toEqual([]);
  });
});
