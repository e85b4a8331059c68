#!/usr/bin/env node
// The CLI: from the start-up bundle (build/cli/, scripts/build-cli.mjs) when it
// is at least as new as tsc's output, else from dist/ module by module.
import { statSync } from 'node:fs';

const mtime = (rel) => { try { return statSync(new URL(rel, import.meta.url)).mtimeMs; } catch { return -1; } };
const bundled = mtime('../build/cli/cli.js') >= mtime('../dist/cli.js');
const { main } = await import(bundled ? '../build/cli/cli.js' : '../dist/cli.js');

await main(process.argv);
