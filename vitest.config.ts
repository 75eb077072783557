import { defineConfig } from 'vitest/config';

// Two projects: unit tests need no network or registry and run in seconds; end-to-end tests
// get a real registry (started once by the global setup) and spawn the built CLI.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // An odd locale catches locale-dependent sorting (STYLE.md).
          env: { LC_ALL: 'sk_SK.UTF-8', LANG: 'sk_SK.UTF-8' },
          testTimeout: 20_000,
          // Unit tests run first, on their own; then the end-to-end project.
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts', 'test/native/**/*.test.ts'],
          globalSetup: ['test/helpers/global-setup.ts'],
          env: { LC_ALL: 'sk_SK.UTF-8', LANG: 'sk_SK.UTF-8' },
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: true,
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
