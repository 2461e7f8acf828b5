import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'batch/test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    // The fake AWS patches client prototypes; isolate files so one file's mocks never leak into another.
    isolate: true,
    reporters: ['default', './test/helpers/plain-summary.ts'],
  },
});
