// Where a run's time goes, by exit reason: how many exits of each kind and
// how long the host spent handling them, against the time the core spent
// running guest code between exits. For `--stats`; it wraps the VM's exit
// handler, so a run without --stats pays nothing.
import type { Vm } from '../vm/vm.js';
import type { Vcpu } from '../vm/vcpu.js';
import { EXIT_REASON_NAMES } from '../core/layout.js';

export class ExitTimer {
  readonly counts = new Float64Array(EXIT_REASON_NAMES.length);
  /** Host time handling exits of each reason, ms. */
  readonly hostMs = new Float64Array(EXIT_REASON_NAMES.length);
  private readonly started = performance.now();

  constructor(vm: Vm) {
    const handle = vm.handleExit.bind(vm);
    vm.handleExit = (vcpu: Vcpu, reason: number) => {
      const t = performance.now();
      handle(vcpu, reason);
      this.hostMs[reason] += performance.now() - t;
      this.counts[reason]++;
    };
  }

  /** The table `--stats` prints: one row per reason seen, then the core's share. */
  format(instructions: number): string[] {
    const totalMs = performance.now() - this.started;
    const pct = (ms: number) => `${((100 * ms) / totalMs).toFixed(1)}%`.padStart(6);
    const rows: string[] = [`exits        ${'count'.padStart(12)} ${'host ms'.padStart(10)}  share of time`];
    let hostTotal = 0;
    EXIT_REASON_NAMES.forEach((name, i) => {
      if (!this.counts[i]) return;
      hostTotal += this.hostMs[i];
      const per = (this.hostMs[i] * 1e6) / this.counts[i];
      rows.push(`  ${name.padEnd(10)} ${this.counts[i].toLocaleString('en-US').padStart(12)} ${this.hostMs[i].toFixed(2).padStart(10)}  ${pct(this.hostMs[i])}  (${per.toFixed(0)} ns each)`);
    });
    const coreMs = totalMs - hostTotal;
    rows.push(`  ${'in the core'.padEnd(23)} ${coreMs.toFixed(2).padStart(10)}  ${pct(coreMs)}  (guest code, entries and exits)`);
    rows.push(`instructions retired: ${instructions.toLocaleString('en-US')} in ${totalMs.toFixed(1)} ms (${(instructions / totalMs / 1e3).toFixed(1)} MIPS)`);
    return rows;
  }
}
