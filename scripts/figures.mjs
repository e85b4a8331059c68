#!/usr/bin/env node
// `npm run figures [-- --quick]`: run the trap, MMU and hypervisor benchmarks
// once, keep the results with the machine's description in docs/figures.json,
// and render docs/figures.md and the README's figures block from them.
// `-- --render`: only render again from docs/figures.json.
import '../dist/host/node/index.js'; // the Node host (files, clock) the VMs run on
import { cpus, totalmem, loadavg, type as osType, release } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { runBench } from '../dist/bench/suite.js';
import { runMmuBench } from '../dist/bench/mmu.js';
import { runHypervisorBench } from '../dist/bench/hypervisor.js';
import { renderFiguresPage, renderReadmeFigures, withReadmeFigures } from '../dist/bench/figures.js';

const step = (what) => process.stderr.write(`figures: ${what}...\n`);
if (process.argv.includes('--render')) { // re-render from docs/figures.json (after a change to the renderer)
  write(JSON.parse(readFileSync('docs/figures.json', 'utf8')));
  process.exit(0);
}
const quick = process.argv.includes('--quick');
const loadBefore = loadavg()[0];
step('npm run bench');
const bench = runBench({ quick });
step('npm run bench:mmu');
const mmu = runMmuBench({ quick });
step('npm run bench:hypervisor');
const hypervisor = runHypervisorBench({ quick });
const figures = {
  date: new Date().toISOString(),
  command: `npm run figures${quick ? ' -- --quick' : ''}`,
  machine: {
    cpu: cpus()[0]?.model.trim() ?? 'unknown CPU', cores: cpus().length, memoryGiB: totalmem() / 2 ** 30,
    os: `${osType()} ${release()}`, node: process.version, loadBefore, loadAfter: loadavg()[0],
  },
  bench, mmu, hypervisor,
};
writeFileSync('docs/figures.json', JSON.stringify(figures, null, 2) + '\n');
write(figures);

function write(f) {
  writeFileSync('docs/figures.md', renderFiguresPage(f));
  writeFileSync('README.md', withReadmeFigures(readFileSync('README.md', 'utf8'), renderReadmeFigures(f)));
  step('wrote docs/figures.md and the README\'s figures block from docs/figures.json');
}
