#!/usr/bin/env node
// `npm run bench`: the trap benchmark (benchmark.js sampling, see
// src/bench/suite.ts), with the same options as `trapeze bench`.
import { main } from '../dist/cli.js';

await main([process.argv[0], 'trapeze', 'bench', ...process.argv.slice(2)]);
