import { defineConfig, configDefaults } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // the Linux boot takes minutes: npm run test:linux (vitest.linux.config.ts);
    // kvm-unit-tests: npm run test:kvm-unit-tests (vitest.kvm-unit-tests.config.ts);
    // the page in Chromium: npm run test:browser (vitest.browser.config.ts); xv6: npm run test:xv6
    exclude: [...configDefaults.exclude, 'test/boot/**', 'test/kvm/**', 'test/browser/**', 'test/xv6/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // the VMM asks the host platform for files and the clock: tests run on Node's
    setupFiles: ['src/host/node/index.ts'],
  },
});
