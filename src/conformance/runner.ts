// Runs a conformance folder file by file on one reused VM.
import { TrapezeError } from '../errors.js';
import { Suite, type SuiteFile, type ConformanceTest } from './suite.js';
import { Harness } from './harness.js';
import { compare } from './compare.js';
import { flagsMaskFor } from './masks.js';
import { derive386 } from './derive386.js';

export interface Failure {
  test: ConformanceTest;
  problems: string[];
}

export interface FileResult {
  file: SuiteFile;
  passed: number;
  failed: number;
  skipped: number;
  /** Of passed and failed: divergent386 tests run (derive386.ts). */
  derived: number;
  /** Skipped tests by reason. */
  skipReasons: Map<string, number>;
  /** The first failures, up to the limit asked for. */
  failures: Failure[];
}

export interface RunOptions {
  /** Only these file keys (all when absent). */
  only?: Set<string>;
  /** Failures kept per file for reporting. */
  keepFailures?: number;
}

export function runFile(h: Harness, file: SuiteFile, keep: number): FileResult {
  const result: FileResult = { file, passed: 0, failed: 0, skipped: 0, derived: 0, skipReasons: new Map(), failures: [] };
  const skip = (reason: string, n: number) => {
    result.skipped += n;
    result.skipReasons.set(reason, (result.skipReasons.get(reason) ?? 0) + n);
  };
  const tests = file.load();
  if (file.skipReason) { skip(file.skipReason, tests.length); return result; }
  for (let t of tests) {
    const reason = file.skips.get(t.idx);
    if (reason !== undefined) {
      const categories = file.divergent.get(t.idx);
      const d = categories ? derive386(categories, t) : undefined;
      if (!d) { skip(reason, 1); continue; }
      t = d;
      result.derived++;
    }
    const outcome = h.run(t);
    const problems = outcome.halted ? compare(t, h, flagsMaskFor(file.key, file.flagsMask, t)) : [outcome.why];
    h.clear(t);
    if (problems.length === 0) { result.passed++; continue; }
    result.failed++;
    if (result.failures.length < keep) result.failures.push({ test: t, problems });
  }
  return result;
}

/** Run every (selected) file of `dir`, calling `onFile` as each finishes. */
export function runSuite(dir: string, options: RunOptions, onFile: (r: FileResult) => void): FileResult[] {
  const suite = new Suite(dir);
  if (options.only) {
    const known = new Set(suite.files.map((f) => f.key));
    const unknown = [...options.only].filter((k) => !known.has(k));
    if (unknown.length) throw new TrapezeError(`--only: no file for ${unknown.join(', ')} in ${dir} (keys are file names without .jsonl.gz, such as ${suite.files.slice(0, 3).map((f) => f.key).join(', ')})`);
  }
  const harness = new Harness();
  const results: FileResult[] = [];
  for (const file of suite.files) {
    if (options.only && !options.only.has(file.key)) continue;
    const r = runFile(harness, file, options.keepFailures ?? 0);
    results.push(r);
    onFile(r);
  }
  return results;
}
