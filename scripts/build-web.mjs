#!/usr/bin/env node
// The playground page (`npm run build` step "web"): src/playground/ bundled by
// esbuild into dist/web/ with the static files (web/), the core's wasm, the
// shipped guests and the docs the panels link to. iced-x86's package is built
// for Node (it reads its wasm with fs): for the browser its wasm is inlined
// and it loads lazily, in a chunk of its own, on the first disassembly.
import { copyFileSync, mkdirSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// a checkout whose node_modules predate the page (npm install not run since)
// still builds the CLI: the page waits, loudly, and is built once esbuild is there
let build;
try {
  ({ build } = await import('esbuild'));
} catch {
  console.error('build: web SKIPPED: esbuild is not installed (run `npm install`); dist/web/ is not built');
  process.exit(0);
}
const out = join(root, 'dist', 'web');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'guests'), { recursive: true });
mkdirSync(join(out, 'docs'), { recursive: true });

const icedForBrowser = {
  name: 'iced-x86-browser',
  setup(b) {
    b.onLoad({ filter: /iced-x86[\\/]iced_x86\.js$/ }, (args) => {
      let src = readFileSync(args.path, 'utf8');
      src = src.replace("const { TextDecoder, TextEncoder } = require(`util`);", '');
      src = src.replace(/const path = require\('path'\)\.join\(__dirname, 'iced_x86_bg\.wasm'\);\s*const bytes = require\('fs'\)\.readFileSync\(path\);/,
        "const bytes = require('./iced_x86_bg.wasm');");
      if (src.includes("require('fs')")) throw new Error('iced-x86: its wasm loader changed; update scripts/build-web.mjs');
      return { contents: src, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

await build({
  entryPoints: { page: 'src/playground/page.ts', worker: 'src/playground/worker.ts', docs: 'src/playground/docs.ts' },
  absWorkingDir: root,
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  chunkNames: 'chunks/[name]-[hash]',
  loader: { '.wasm': 'binary' },
  plugins: [icedForBrowser],
  logLevel: 'warning',
});

for (const f of ['index.html', 'docs.html', 'style.css']) copyFileSync(join(root, 'web', f), join(out, f));
copyFileSync(join(root, 'build', 'core.wasm'), join(out, 'core.wasm'));
for (const f of readdirSync(join(root, 'guest-images'))) {
  if (f.endsWith('.elf') || f.endsWith('.img')) copyFileSync(join(root, 'guest-images', f), join(out, 'guests', f));
}
for (const f of ['tour.md', 'mmu.md']) copyFileSync(join(root, 'docs', f), join(out, 'docs', f));
