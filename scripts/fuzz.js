#!/usr/bin/env node
// The long robustness fuzz: `npm run fuzz -- --seeds N [--first S]
// [--instructions M] [--jit]`. Prints, per seed, the instructions executed and how
// the random guests ended; exits non-zero when any seed found a failure.
import '../dist/host/node/index.js';
import { Command } from 'commander';
import { fuzzSeed, fuzzJitDiff, formatReport } from '../dist/fuzz/robustness.js';

const program = new Command('fuzz')
  .option('--seeds <n>', 'seeds to run', (v) => Number.parseInt(v, 10), 8)
  .option('--first <n>', 'first seed', (v) => Number.parseInt(v, 10), 1)
  .option('--instructions <n>', 'instructions per seed', (v) => Number.parseInt(v, 10), 5_000_000)
  .option('--jit', 'differential: run each seed with the JIT and without, and compare every guest\'s final state')
  .parse();
const { seeds, first, instructions, jit } = program.opts();
for (const [name, v] of Object.entries({ seeds, first, instructions })) {
  if (!Number.isInteger(v) || v < 0) { console.error(`fuzz: --${name} must be a whole number`); process.exit(2); }
}

let failures = 0, total = 0;
const started = Date.now();
for (let seed = first; seed < first + seeds; seed++) {
  let r;
  if (jit) {
    const d = fuzzJitDiff(seed, { instructions });
    r = { ...d.jit, failures: d.failures };
    console.log(`${formatReport(r)}\n  compiled: ${d.jit.compiledInstructions} instructions (${(100 * d.jit.compiledInstructions / d.jit.instructions).toFixed(1)}%), ${d.jit.episodes} guests compared`);
  } else {
    r = fuzzSeed(seed, { instructions });
    console.log(formatReport(r));
  }
  failures += r.failures.length;
  total += r.instructions;
}
const s = (Date.now() - started) / 1000;
console.log(`${seeds} seeds, ${total} instructions in ${s.toFixed(1)} s: ${failures ? `${failures} FAILURES` : 'no failures'}`);
process.exit(failures ? 1 : 0);
