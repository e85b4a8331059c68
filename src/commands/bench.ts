// `trapeze bench`: the trap benchmark — ns per exit for every exit kind, MIPS
// on the compute guest, the vmexit guest's own figures; table, JSON, HTML.
import type { Command } from 'commander';
import { parseCount } from './options.js';
import { checkOutputPath, writeOutput } from './output.js';

/** A progress line on stderr: redrawn in place on a terminal, one line per step otherwise. */
function progress(done: number, total: number, what: string): void {
  const err = process.stderr;
  const width = 20;
  const filled = Math.round((width * done) / total);
  const text = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${what}`;
  if (err.isTTY) err.write(`\r\x1b[K${done === total ? '' : text}`);
  else if (done < total) err.write(text + '\n');
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('measure the cost of each kind of exit, and instructions per second')
    .option('--quick', 'short samples and small guest runs (seconds, not minutes)')
    .option('--json <file>', 'write the results as JSON')
    .option('--html <file>', 'write a self-contained HTML page with a bar chart')
    .option('--kinds <list>', 'only these exit kinds, comma-separated')
    .option('--iterations <n>', 'iterations of the compute guest', parseCount)
    .option('--vmexit-iterations <n>', 'iterations per kind of the vmexit guest', parseCount)
    .action(async (opts) => {
      // output files are checked before minutes of measuring, not after
      if (opts.json) checkOutputPath(opts.json, '--json');
      if (opts.html) checkOutputPath(opts.html, '--html');
      // benchmark.js (with lodash) loads only for this command
      const { runBench } = await import('../bench/suite.js');
      const { formatTable, toJson, toHtml } = await import('../bench/report.js');
      const result = runBench({
        quick: opts.quick, kinds: opts.kinds?.split(','), computeIterations: opts.iterations,
        vmexitIterations: opts.vmexitIterations, onProgress: progress,
      });
      process.stdout.write(formatTable(result));
      if (opts.json) writeOutput(opts.json, toJson(result), '--json');
      if (opts.html) writeOutput(opts.html, toHtml(result), '--html');
    });
}
