import { defineConfig } from 'vitest/config';

// The heavy Linux boot test (npm run test:linux), kept out of the default suite.
export default defineConfig({
  test: {
    include: ['test/boot/**/*.test.ts'],
    testTimeout: 20 * 60_000,
    pool: 'forks',
    // the VMM asks the host platform for files and the clock: tests run on Node's
    setupFiles: ['src/host/node/index.ts'],
    // the boots compile regions on the compile thread (docs/jit.md): a whole
    // kernel's regions arrive while it runs, as they would for a user who asks for it
    env: { TRAPEZE_JIT_COMPILE: 'worker' },
  },
});
