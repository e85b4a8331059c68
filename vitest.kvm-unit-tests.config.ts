import { defineConfig } from 'vitest/config';

// kvm-unit-tests against QEMU TCG's record (npm run test:kvm-unit-tests), kept
// out of the default suite: it needs scripts/fetch-kvm-unit-tests and takes minutes.
export default defineConfig({
  test: {
    include: ['test/kvm/**/*.test.ts'],
    testTimeout: 15 * 60_000,
    pool: 'forks',
    setupFiles: ['src/host/node/index.ts'],
  },
});
