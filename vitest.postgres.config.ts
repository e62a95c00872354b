import { defineConfig } from 'vitest/config';

// The SCIM end-to-end suites once more, with the directory in PostgreSQL (a throwaway cluster of
// this run): every SCIM behaviour — both PATCH dialects, filters, import modes, uniqueness — must
// be the same on both backends. `npm test` runs this after the main suite.
export default defineConfig({
  test: {
    include: ['test/e2e/scim-provisioning.test.ts', 'test/e2e/scim-filter.test.ts', 'test/e2e/scim-oversize.test.ts'],
    globalSetup: ['test/support/postgres-global.ts'],
    env: { DIRSYNC_TEST_STORE: 'postgres' },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
  },
});
