// vitest globalSetup for the e2e project: one registry without auth for the whole run, with the
// standard test images pushed once; tests read `inject('registry')` and `inject('testImages')`.

import type { TestProject } from 'vitest/node';
import { startRegistry, type RunningRegistry } from './registry.js';
import { pushStandardImages } from './standard-images.js';

let registry: RunningRegistry | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  registry = await startRegistry();
  try {
    const digests = await pushStandardImages(registry.host);
    project.provide('registry', registry.host);
    project.provide('testImages', digests);
  } catch (error) {
    await registry.stop();
    throw error;
  }
  return async () => {
    await registry?.stop();
    registry = undefined;
  };
}
