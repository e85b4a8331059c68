// Where a run's time goes, by exit reason: how many exits of each kind and
// how long the host spent handling them, against the time the core spent
// running guest code between exits. For `--stats`; it observes the VM's exits
// (Vm.observeExits), so a run without --stats pays nothing. Reading the clock costs
// about as much as handling a port exit, so only one exit in SAMPLE_EVERY of
// each reason is timed (less the clock's own cost) and the rest estimated
// from those. The longest sample (a first call's compile, a GC pause) is
// counted once rather than SAMPLE_EVERY times: scaled up, one such pause in a
// short run made the exits' estimate exceed the run and the core's share negative.
import type { Vm } from '../vm/vm.js';
import { EXIT_REASON_NAMES } from '../core/layout.js';

const SAMPLE_EVERY = 8;

export class ExitTimer {
  readonly counts = new Float64Array(EXIT_REASON_NAMES.length);
  private readonly sampledMs = new Float64Array(EXIT_REASON_NAMES.length);
  private readonly samples = new Float64Array(EXIT_REASON_NAMES.length);
  private readonly longestMs = new Float64Array(EXIT_REASON_NAMES.length);
  private readonly clockMs: number;
  private readonly started: number;

  constructor(vm: Vm) {
    let clock = Infinity;
    for (let i = 0; i < 200; i++) { const a = performance.now(); clock = Math.min(clock, performance.now() - a); }
    this.clockMs = clock;
    let since = -1; // when the sampled exit's handling began; -1: this exit is not sampled
    vm.observeExits({
      beforeExit: (_vcpu, reason) => { if (++this.counts[reason] % SAMPLE_EVERY === 0) since = performance.now(); },
      afterExit: (_vcpu, reason) => {
        if (since < 0) return;
        const ms = Math.max(0, performance.now() - since - this.clockMs);
        this.sampledMs[reason] += ms;
        this.longestMs[reason] = Math.max(this.longestMs[reason], ms);
        this.samples[reason]++;
        since = -1;
      },
    });
    this.started = performance.now();
  }

  /** Estimated host time handling exits of `reason`, ms. */
  hostMs(reason: number): number {
    const n = this.samples[reason];
    if (n < 2) return n ? this.sampledMs[reason] * this.counts[reason] : 0;
    const longest = this.longestMs[reason];
    return longest + ((this.sampledMs[reason] - longest) * (this.counts[reason] - 1)) / (n - 1);
  }

  /** The table `--stats` prints: one row per reason seen, then the core's share. */
  format(instructions: number): string[] {
    const totalMs = performance.now() - this.started;
    const pct = (ms: number) => `${((100 * ms) / totalMs).toFixed(1)}%`.padStart(6);
    const rows: string[] = [`exits        ${'count'.padStart(12)} ${'host ms'.padStart(10)}  share of time (host time sampled on 1 exit in ${SAMPLE_EVERY})`];
    let hostTotal = 0;
    EXIT_REASON_NAMES.forEach((name, i) => {
      if (!this.counts[i]) return;
      const ms = this.hostMs(i);
      hostTotal += ms;
      rows.push(`  ${name.padEnd(10)} ${this.counts[i].toLocaleString('en-US').padStart(12)} ${ms.toFixed(2).padStart(10)}  ${pct(ms)}  (${((ms * 1e6) / this.counts[i]).toFixed(0)} ns each)`);
    });
    const coreMs = totalMs - hostTotal;
    rows.push(`  ${'in the core'.padEnd(23)} ${coreMs.toFixed(2).padStart(10)}  ${pct(coreMs)}  (guest code, entries and exits)`);
    rows.push(`instructions retired: ${instructions.toLocaleString('en-US')} in ${totalMs.toFixed(1)} ms (${(instructions / totalMs / 1e3).toFixed(1)} MIPS)`);
    return rows;
  }
}
