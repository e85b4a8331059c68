#!/usr/bin/env -S node --v8-pool-size=1
// The CLI, under the Node options of src/host/node/node-flags.ts (the first
// line; `node bin/trapeze.js` runs without them). A short run's time is mostly Node starting, so this file is
// CommonJS (bin/package.json; Node sets up no ES module loader for it) and
// takes build/cli/cli.cjs, one CommonJS bundle of dist/ (scripts/build-cli.mjs),
// compiled from V8's code cache beside it. It falls back to dist/ module by
// module when the bundle is missing or older than tsc's output.
'use strict';
const { readFileSync, statSync, writeFileSync } = require('node:fs');
const { dirname, join } = require('node:path');
const Module = require('node:module');
const vm = require('node:vm');

const BUNDLE = join(__dirname, '..', 'build', 'cli', 'cli.cjs');
const CACHE = `${BUNDLE}.cache`;
const mtime = (file) => { try { return statSync(file).mtimeMs; } catch { return -1; } };

/**
 * The bundle's exports, compiled with the code cache when the cache is at
 * least as new as the bundle (V8 checks only the source's length, so a cache
 * of another build could be taken for this one).
 */
function loadBundle(useCache) {
  const cachedData = useCache && mtime(CACHE) >= mtime(BUNDLE) ? readFileSync(CACHE) : undefined;
  const script = new vm.Script(Module.wrap(readFileSync(BUNDLE, 'utf8')), { filename: BUNDLE, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, Module.createRequire(BUNDLE), module, BUNDLE, dirname(BUNDLE));
  return { cli: module.exports, script };
}

/**
 * Runs the CLI once on `argv` and writes the code cache of everything that run
 * compiled (the build calls this on a `run`, so a run starts warm).
 */
async function writeCodeCache(argv) {
  const { cli, script } = loadBundle(false);
  await cli.main(argv);
  writeFileSync(CACHE, script.createCachedData());
}

async function start() {
  const cli = mtime(BUNDLE) >= mtime(join(__dirname, '..', 'dist', 'cli.js'))
    ? loadBundle(true).cli
    : await import('../dist/cli.js');
  await cli.main(process.argv);
}

if (require.main === module) start();
module.exports = { writeCodeCache };
