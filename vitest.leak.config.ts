import { defineConfig } from 'vitest/config';

// Runs after the whole suite (see `npm test`): reads everything the suite's dirsync processes printed.
export default defineConfig({
  test: {
    include: ['test/leak/**/*.test.ts'],
  },
});
