import { defineConfig } from 'vitest/config';

// The playground page in a real browser (npm run test:browser), kept out of the default suite.
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    pool: 'forks',
    setupFiles: ['src/host/node/index.ts'],
  },
});
