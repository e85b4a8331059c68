// `trapeze conformance <dir>`: run a folder of single-instruction tests
// recorded on real silicon, print pass/fail per file and a total.
import type { Command } from 'commander';
import { writeStdout } from './output.js';
import type { FileResult } from '../conformance/runner.js';

/** Differences shown per failing test (a REP can differ in hundreds of bytes). */
const MAX_PROBLEM_LINES = 8;

export function registerConformance(program: Command): void {
  program
    .command('conformance')
    .description('run a folder of single-instruction conformance tests (e.g. ../shared/conformance/80286-real)')
    .argument('<dir>', 'folder with metadata.json and <opcode>.jsonl.gz files')
    .option('-v, --verbose', 'show the first failures of each file')
    .option('--failures <n>', 'failures shown per file with --verbose', (v) => Number(v), 3)
    .option('--only <keys>', 'run only these files, comma-separated (e.g. F6.7,27)')
    .action(async (dir: string, opts: { verbose?: boolean; failures: number; only?: string }) => {
      const { runSuite } = await import('../conformance/runner.js');
      const out = process.stdout;
      const only = opts.only ? new Set(opts.only.split(',').map((s) => s.trim().toUpperCase())) : undefined;
      const started = process.hrtime.bigint();
      const results = runSuite(dir, { only, keepFailures: opts.verbose ? opts.failures : 0 }, (r) => {
        writeStdout(fileLine(r) + '\n');
        if (opts.verbose) for (const f of r.failures) {
          out.write(`    #${f.test.idx} ${f.test.name} [${f.test.bytes}]${f.test.exception ? ` (exception ${f.test.exception.vector})` : ''}\n`);
          for (const p of f.problems.slice(0, MAX_PROBLEM_LINES)) out.write(`      ${p}\n`);
          if (f.problems.length > MAX_PROBLEM_LINES) out.write(`      ... and ${f.problems.length - MAX_PROBLEM_LINES} more\n`);
        }
      });
      const sum = (k: 'passed' | 'failed' | 'skipped' | 'derived') => results.reduce((a, r) => a + r[k], 0);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const reasons = new Map<string, number>();
      for (const r of results) for (const [why, n] of r.skipReasons) reasons.set(why, (reasons.get(why) ?? 0) + n);
      for (const [why, n] of reasons) out.write(`skipped ${n}: ${why}\n`);
      out.write(`total: ${sum('passed') + sum('failed')} applicable (${sum('derived')} of them divergent386 tests, see derive386.ts), ` +
        `${sum('passed')} passed, ${sum('failed')} failed, ` +
        `${sum('skipped')} skipped; ${results.length} files in ${seconds.toFixed(1)} s\n`);
      process.exitCode = sum('failed') > 0 ? 1 : 0;
    });
}

function fileLine(r: FileResult): string {
  const name = `${r.file.key.padEnd(5)} ${r.file.mnemonic.padEnd(6)}`;
  if (r.file.skipReason) return `${name} skipped (${r.skipped} tests): ${r.file.skipReason}`;
  const status = r.failed === 0 ? 'pass' : 'FAIL';
  return `${name} ${status}  ${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''}` +
    (r.derived ? ` (${r.derived} divergent386)` : '');
}
