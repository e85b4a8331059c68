// ESLint (flat config) with typescript-eslint for the host (src/), the tests
// and the benchmarks' TypeScript. The core (assembly/) is AssemblyScript, which
// ESLint cannot type: asc and the generated contract keep it honest.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['build/', 'dist/', 'node_modules/', '.cache/', 'assembly/', 'guest-images/', 'src/core/layout.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      // the compiler's noUnusedLocals/noUnusedParameters report these; `_name` marks a parameter an interface requires
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // the tests match terminal escapes and column-aligned output
    files: ['test/**/*.ts'],
    rules: { 'no-control-regex': 'off', 'no-regex-spaces': 'off' },
  },
  {
    // functions that run in the page puppeteer drives
    files: ['bench/web.js'],
    languageOptions: { globals: { window: 'readonly', document: 'readonly', PerformanceObserver: 'readonly' } },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', process: 'readonly', console: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', performance: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', WebAssembly: 'readonly' } },
  },
);
