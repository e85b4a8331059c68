#!/usr/bin/env node
// The CLI's start-up bundle (`npm run build` step "cli"): dist/ (tsc's output)
// bundled by esbuild into one CommonJS file, build/cli/cli.cjs, with commander
// inside, and V8's code cache of it after a `run` (build/cli/cli.cjs.cache).
// A short run's start is mostly Node loading and compiling modules: one file
// costs one read, CommonJS needs no ES module loader, and the cache spares the
// compiling. esbuild wraps each module so it runs only when first required: a
// command still initializes only its own modules. bin/trapeze.js takes the
// bundle when it is newer than dist/cli.js, and dist/ otherwise.
//
// Other packages stay outside (iced-x86 reads its wasm beside its own file),
// and each module's `import.meta.url` names its file in dist/, so the paths it
// finds from there (build/core.wasm, web/, guest-images/) hold.
import { spawnSync } from 'node:child_process';
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
  outfile: join(out, 'cli.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  supported: { 'dynamic-import': false }, // import() becomes require(): a vm.Script has no module loader
  logLevel: 'warning',
  plugins: [{
    name: 'trapeze-cli',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => (args.kind === 'entry-point' || INSIDE.has(args.path) ? undefined : { external: true }));
      b.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, (args) => {
        let contents = readFileSync(args.path, 'utf8');
        const file = JSON.stringify(relative(out, args.path).split('\\').join('/'));
        const here = `require('node:url').pathToFileURL(require('node:path').join(__dirname, ${file})).href`;
        contents = contents.replaceAll('import.meta.url', here);
        return { contents, loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  }],
});

// The code cache: what one run of the hello guest compiled.
const warm = `require(${JSON.stringify(join(root, 'bin', 'trapeze.js'))}).writeCodeCache(['node', 'trapeze', 'run', ${JSON.stringify(join(root, 'guest-images', 'hello.elf'))}])`;
const r = spawnSync(process.execPath, ['-e', warm], { cwd: root, encoding: 'utf8' });
if (r.status !== 0 && r.status !== 1) { // the guest's debug-exit status is 1
  console.error(`build: cli code cache SKIPPED: the warm-up run failed (${r.status}): ${r.stderr.trim().split('\n').pop()}`);
}
