#!/usr/bin/env node
// The long robustness fuzz: `npm run fuzz -- --seeds N [--first S]
// [--instructions M]`. Prints, per seed, the instructions executed and how
// the random guests ended; exits non-zero when any seed found a failure.
import { Command } from 'commander';
import { fuzzSeed, formatReport } from '../dist/fuzz/robustness.js';

const program = new Command('fuzz')
  .option('--seeds <n>', 'seeds to run', (v) => Number.parseInt(v, 10), 8)
  .option('--first <n>', 'first seed', (v) => Number.parseInt(v, 10), 1)
  .option('--instructions <n>', 'instructions per seed', (v) => Number.parseInt(v, 10), 5_000_000)
  .parse();
const { seeds, first, instructions } = program.opts();
for (const [name, v] of Object.entries({ seeds, first, instructions })) {
  if (!Number.isInteger(v) || v < 0) { console.error(`fuzz: --${name} must be a whole number`); process.exit(2); }
}

let failures = 0, total = 0;
const started = Date.now();
for (let seed = first; seed < first + seeds; seed++) {
  const r = fuzzSeed(seed, { instructions });
  console.log(formatReport(r));
  failures += r.failures.length;
  total += r.instructions;
}
const s = (Date.now() - started) / 1000;
console.log(`${seeds} seeds, ${total} instructions in ${s.toFixed(1)} s: ${failures ? `${failures} FAILURES` : 'no failures'}`);
process.exit(failures ? 1 : 0);
