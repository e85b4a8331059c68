#!/usr/bin/env node
// `npm run bench:mmu`: the MMU benchmark (src/bench/mmu.ts) — shadow miss,
// page touch after a flush, PT-write trap, CR3 switch, pagestress throughput.
// --quick: short samples; --json <file>: the figures as JSON.
import '../dist/host/node/index.js';
import { writeFileSync } from 'node:fs';
import { runMmuBench, formatMmuBench } from '../dist/bench/mmu.js';

const args = process.argv.slice(2);
const result = runMmuBench({ quick: args.includes('--quick') });
process.stdout.write(formatMmuBench(result));
const json = args.indexOf('--json');
if (json >= 0) writeFileSync(args[json + 1], JSON.stringify(result, null, 2) + '\n');
