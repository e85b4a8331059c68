// kvm-unit-tests (x86, built for i386 by scripts/fetch-kvm-unit-tests into
// .cache/kvm-unit-tests/) on Trapeze's PC, each beside what QEMU TCG printed
// for it (test/kvm/qemu-tcg.json, recorded by scripts/record-kvm-unit-tests-qemu):
// every check QEMU passes must pass here, unless tests.json names the feature
// Trapeze does not model, and no check may fail here that did not fail there.
// `npm run test:kvm-unit-tests`; without the build it is skipped, loudly.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CACHE = `${ROOT}.cache/kvm-unit-tests/`;
const BIN = `${ROOT}bin/trapeze.js`;

interface Entry {
  name: string; file: string; args?: string; cpus?: number; timeout?: number; note?: string;
  /** `trapeze run --cpu` model (QEMU's default CPU has SSE2; tests that use it say "sse"). */
  cpu?: string;
  unmodelled?: { match: string; reason: string }[];
  /** The test cannot end as under QEMU, for this reason: run it a short while only. */
  unmodelledStatus?: string;
  /** Minutes on Trapeze (a 2^30-tick TSC loop): run only with KVM_UNIT_TESTS_LONG=1. */
  long?: boolean;
}
interface Outcome { status: number | null; timedOut: boolean; seconds: number; pass: string[]; fail: string[]; skip: string[] }

const LIST: Entry[] = JSON.parse(readFileSync(`${ROOT}test/kvm/tests.json`, 'utf8')).tests;
const QEMU: Record<string, Outcome> = JSON.parse(readFileSync(`${ROOT}test/kvm/qemu-tcg.json`, 'utf8'));
const built = existsSync(`${CACHE}x86/realmode.flat`);
if (!built) process.stderr.write(`\n*** SKIPPED: kvm-unit-tests are not built in ${CACHE}x86: run scripts/fetch-kvm-unit-tests ***\n\n`);
// the long ones together take most of an hour: CI runs the rest, a user asks for them
const runLong = process.env.KVM_UNIT_TESTS_LONG === '1';
const longOnes = LIST.filter((t) => t.long).map((t) => t.name);
if (built && !runLong && longOnes.length) {
  process.stderr.write(`\n*** SKIPPED (long, set KVM_UNIT_TESTS_LONG=1 to run them): ${longOnes.join(', ')} ***\n\n`);
}

/** Run one test as a user would: the PC with pc-testdev, the kernel by multiboot (QEMU's -kernel). */
function runOnTrapeze(t: Entry): Outcome & { output: string } {
  // QEMU's multiboot command line starts with the kernel's name; the tests' argv[0]
  const cmdline = `${t.file}.flat${t.args ? ` ${t.args}` : ''}`;
  const seconds = t.unmodelledStatus ? 20 : t.timeout ?? 120;
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, 'run', '--boot', 'kernel', '--testdev', '--memory', '128', '--cpus', String(t.cpus ?? 1),
    ...(t.cpu ? ['--cpu', t.cpu] : []), '--cmdline', cmdline, '--timeout', String(seconds), `${CACHE}x86/${t.file}.flat`], { encoding: 'latin1', maxBuffer: 64 << 20 });
  const took = Number(process.hrtime.bigint() - start) / 1e9;
  const lines = r.stdout.split('\n');
  const pick = (kind: string) => lines.filter((l) => l.startsWith(`${kind}: `)).map((l) => l.slice(kind.length + 2).trimEnd());
  return {
    status: r.status, timedOut: /timeout after/.test(r.stderr), seconds: Math.round(took * 100) / 100,
    pass: pick('PASS'), fail: pick('FAIL'), skip: pick('SKIP'), output: r.stdout.slice(-2000) + r.stderr,
  };
}

/** Items of `want` (a multiset) that `have` lacks. */
function missing(want: string[], have: string[]): string[] {
  const left = new Map<string, number>();
  for (const h of have) left.set(h, (left.get(h) ?? 0) + 1);
  return want.filter((w) => { const n = left.get(w) ?? 0; if (n > 0) { left.set(w, n - 1); return false; } return true; });
}

const rows: string[] = [];
const counts = (o: Outcome) => `${o.pass.length} / ${o.fail.length} / ${o.skip.length}`;

describe.skipIf(!built)('kvm-unit-tests beside QEMU TCG', () => {
  afterAll(() => {
    const table = [
      '| test | Trapeze PASS / FAIL / SKIP | QEMU TCG PASS / FAIL / SKIP | Trapeze s | QEMU s | QEMU passes that Trapeze does not, and why |',
      '| --- | --- | --- | --- | --- | --- |',
      ...rows,
    ].join('\n');
    writeFileSync(`${CACHE}table.md`, `${table}\n`);
    process.stdout.write(`\n${table}\n\n(written to ${CACHE}table.md)\n`);
  });

  for (const t of LIST) {
    it.skipIf(t.long && !runLong)(t.name, () => {
      const q = QEMU[t.name];
      expect(q, `no QEMU record for ${t.name}: run scripts/record-kvm-unit-tests-qemu ${t.name}`).toBeDefined();
      const r = runOnTrapeze(t);
      const lost = missing(q.pass, r.pass);
      const reasons = new Map<string, number>();
      const unexplained = lost.filter((name) => {
        const u = t.unmodelled?.find((m) => new RegExp(m.match).test(name));
        if (u) reasons.set(u.reason, (reasons.get(u.reason) ?? 0) + 1);
        return !u;
      });
      // a check that fails for want of an unmodelled feature is named in the table, not a new failure
      const newFails = r.fail.filter((f) => !q.fail.includes(f) && !t.unmodelled?.some((m) => new RegExp(m.match).test(f)));
      const why = [...[...reasons].map(([reason, n]) => `${n}: ${reason}`), ...(t.unmodelledStatus ? [`does not end: ${t.unmodelledStatus}`] : []), ...(t.note ? [t.note] : [])].join('; ');
      const time = (o: Outcome) => `${o.seconds}${o.timedOut ? ' (timeout)' : ''}`;
      rows.push(`| ${t.name} | ${counts(r)} | ${counts(q)} | ${time(r)} | ${time(q)} | ${why || (unexplained.length ? `${unexplained.length} not passed` : '')} |`);
      expect(unexplained, `QEMU passes these, Trapeze does not:\n${r.output}`).toEqual([]);
      expect(newFails, `these fail on Trapeze but not on QEMU:\n${r.output}`).toEqual([]);
      // a test that QEMU runs to its end (status 1: all passed) ends the same way here
      if (q.status === 1 && !t.unmodelled && !t.unmodelledStatus) expect(r.status, r.output).toBe(1);
    });
  }
});
