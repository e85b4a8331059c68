#!/usr/bin/env node
// The CLI's start-up bundle (`npm run build` step "cli"): dist/ (tsc's output)
// bundled by esbuild into build/cli/, one file per command's share of the
// modules, with commander inside. A short run's start is mostly Node loading
// modules one by one (about 1 ms each, commander's CommonJS files more);
// bin/trapeze.js takes the bundle when it is newer than dist/cli.js, and
// dist/ otherwise (a bundle older than tsc's last output is stale).
//
// Other packages stay outside (iced-x86 reads its wasm beside its own file),
// and each module's `import.meta.url` still names its file in dist/, so the
// paths it finds from there (build/core.wasm, web/, guest-images/) hold.
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'build', 'cli');
rmSync(out, { recursive: true, force: true });
let build;
try {
  ({ build } = await import('esbuild'));
} catch {
  console.error('build: cli SKIPPED: esbuild is not installed (run `npm install`); bin/trapeze.js loads dist/ module by module');
  process.exit(0);
}

const INSIDE = new Set(['commander']); // the packages bundled in
await build({
  entryPoints: [join(root, 'dist', 'cli.js')],
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  // commander is CommonJS: its require() calls of Node's modules need a require
  banner: { js: "import { createRequire as trapezeRequire } from 'node:module'; const require = trapezeRequire(import.meta.url);" },
  plugins: [{
    name: 'trapeze-cli',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => (args.kind === 'entry-point' || INSIDE.has(args.path) ? undefined : { external: true }));
      b.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, (args) => {
        let contents = readFileSync(args.path, 'utf8');
        const here = `new URL(${JSON.stringify(relative(out, args.path).split('\\').join('/'))}, import.meta.url).href`;
        contents = contents.replaceAll('import.meta.url', here);
        return { contents, loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  }],
});
