#!/usr/bin/env node
// `npm run bench:hypervisor`: the scheduler's cost per vCPU switch and the
// throughput of N identical VMs against one (src/bench/hypervisor.ts).
// --quick: short samples; --json <file>: the figures as JSON.
import '../dist/host/node/index.js';
import { writeFileSync } from 'node:fs';
import { runHypervisorBench, formatHypervisorBench } from '../dist/bench/hypervisor.js';

const args = process.argv.slice(2);
const result = runHypervisorBench({ quick: args.includes('--quick') });
process.stdout.write(formatHypervisorBench(result));
const json = args.indexOf('--json');
if (json >= 0) writeFileSync(args[json + 1], JSON.stringify(result, null, 2) + '\n');
