import { defineConfig } from 'vitest/config';

// The heavy Linux boot test (npm run test:linux), kept out of the default suite.
export default defineConfig({
  test: {
    include: ['test/boot/**/*.test.ts'],
    testTimeout: 20 * 60_000,
    pool: 'forks',
    // the VMM asks the host platform for files and the clock: tests run on Node's
    setupFiles: ['src/host/node/index.ts'],
  },
});
