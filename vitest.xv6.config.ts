import { defineConfig } from 'vitest/config';

// The xv6 run (npm run test:xv6), kept out of the default suite.
export default defineConfig({
  test: {
    include: ['test/xv6/**/*.test.ts'],
    testTimeout: 40 * 60_000,
    pool: 'forks',
    setupFiles: ['src/host/node/index.ts'],
    // regions compile on the compile thread (docs/jit.md), as in the Linux boot tests
    env: { TRAPEZE_JIT_COMPILE: 'worker' },
  },
});
