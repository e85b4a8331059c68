// Weighted fair sharing of the one host CPU (the core) among VMs: stride
// scheduling. Each VM has a pass value that grows by cost ÷ shares whenever
// it runs; the runnable VM with the lowest pass runs next, one time slice (an
// instruction budget) at a time, on whichever of its runnable vCPUs has run
// least. A cap limits a VM to a fraction of every bandwidth period, even when
// the host would otherwise idle. A VM whose vCPUs all wait in HLT is not
// runnable and uses nothing; when an interrupt wakes it, it rejoins at the
// current pass, so it gets its share back from then on, not a burst for the
// time it slept (nor a penalty).
//
// Cost is measured in guest instructions retired (the deterministic clock:
// repeatable runs and tests) or in host nanoseconds (the wall clock).
import { host } from '../host/platform.js';
import type { Vm } from '../vm/vm.js';

export type SchedClock = 'instructions' | 'wall';

export interface SchedOptions {
  clock?: SchedClock;
  /** Instructions a vCPU may run per dispatch (preemption by budget). */
  sliceInstructions?: number;
  /** Cap accounting period in cost units (instructions or ns). */
  period?: number;
}

/** One VM as the scheduler sees it. */
export class SchedEntity {
  pass = 0;
  /** Cost received (instructions or ns). */
  received = 0;
  /** What an ideal weighted fair share (with caps) would have given it. */
  entitled = 0;
  /** Cost received in the current cap period. */
  periodUsed = 0;
  /** Dispatches, for the per-switch cost figures. */
  dispatches = 0;
  wasRunnable = false;
  /** Per vCPU: what it ran, to share the VM's time equally among its runnable vCPUs. */
  private readonly vcpuUsed: Float64Array;
  private readonly vcpuWasRunnable: Uint8Array;

  constructor(readonly vm: Vm, public shares: number, public capPercent: number | undefined) {
    this.vcpuUsed = new Float64Array(vm.vcpus.length);
    this.vcpuWasRunnable = new Uint8Array(vm.vcpus.length);
  }

  get cap(): number { return this.capPercent === undefined ? 1 : this.capPercent / 100; }
  /** This VM's time slice, when it has its own. */
  slice: number | undefined;
  /** Instructions left under the policy's maximum. */
  budgetLeft = Infinity;

  /**
   * The runnable vCPU that has run least (slices may end early, on a timer or
   * an exit, so taking turns would not be fair); one that wakes starts level
   * with the others. -1 when none can run.
   */
  pickVcpu(): number {
    const vcpus = this.vm.vcpus;
    let best = -1, floor = Infinity;
    for (let k = 0; k < vcpus.length; k++) {
      const r = this.vm.runnable(vcpus[k]);
      if (r && this.vcpuWasRunnable[k] && this.vcpuUsed[k] < floor) floor = this.vcpuUsed[k];
    }
    for (let k = 0; k < vcpus.length; k++) {
      const r = this.vm.runnable(vcpus[k]);
      if (r && !this.vcpuWasRunnable[k] && floor !== Infinity && this.vcpuUsed[k] < floor) this.vcpuUsed[k] = floor;
      this.vcpuWasRunnable[k] = r ? 1 : 0;
      if (r && (best < 0 || this.vcpuUsed[k] < this.vcpuUsed[best])) best = k;
    }
    return best;
  }

  /** What picks the next vCPU, for a snapshot: a restored VM's vCPUs take turns as they would have. */
  vcpuTurns(): { used: number[]; wasRunnable: number[] } {
    return { used: [...this.vcpuUsed], wasRunnable: [...this.vcpuWasRunnable] };
  }
  restoreVcpuTurns(t: { used: number[]; wasRunnable: number[] }): void {
    this.vcpuUsed.set(t.used);
    this.vcpuWasRunnable.set(t.wasRunnable);
  }

  /** Charge a vCPU for what it ran. */
  charge(vcpu: number, cost: number): void { this.vcpuUsed[vcpu] += cost; }

  get runnable(): boolean {
    return this.vm.state === 'running' && !this.vm.stopped && this.vm.vcpus.some((v) => this.vm.runnable(v));
  }
}

export type StepResult =
  | { kind: 'ran'; entity: SchedEntity; cost: number }
  /** Everything runnable is held back by its cap until `cost` more time passes. */
  | { kind: 'capped'; wait: number }
  /** Nothing is runnable (all halted, paused or stopped). */
  | { kind: 'idle' };

export class Scheduler {
  readonly entities: SchedEntity[] = [];
  readonly clock: SchedClock;
  readonly slice: number;
  readonly period: number;
  /** Host time elapsed in cost units (dispatched + idle under caps). */
  elapsed = 0;
  private periodStart = 0;

  constructor(options: SchedOptions = {}) {
    this.clock = options.clock ?? 'instructions';
    this.slice = options.sliceInstructions ?? 100_000;
    this.period = options.period ?? (this.clock === 'instructions' ? 20 * this.slice : 20_000_000);
  }

  add(entity: SchedEntity): void {
    entity.pass = this.minPass();
    this.entities.push(entity);
  }

  private minPass(): number {
    let m = Infinity;
    for (const e of this.entities) if (e.wasRunnable && e.pass < m) m = e.pass;
    return m === Infinity ? 0 : m;
  }

  /** One scheduling decision and one dispatch. */
  step(): StepResult {
    this.rollPeriod();
    const global = this.minPass();
    let best: SchedEntity | undefined;
    let anyRunnable = false;
    for (const e of this.entities) {
      const r = e.runnable && e.budgetLeft > 0;
      // a VM that wakes rejoins at the current pass: no credit for its sleep,
      // and no debt from the slice it overran when it went to sleep
      if (r && !e.wasRunnable) e.pass = global;
      e.wasRunnable = r;
      if (!r) continue;
      anyRunnable = true;
      if (e.periodUsed >= e.cap * this.period) continue;
      if (!best || e.pass < best.pass) best = e;
    }
    if (!best) {
      if (!anyRunnable) return { kind: 'idle' };
      const wait = this.periodStart + this.period - this.elapsed;
      return { kind: 'capped', wait };
    }
    const index = best.pickVcpu();
    const vcpu = best.vm.vcpus[index];
    // with the instruction clock a capped VM's slice ends exactly where its cap runs out
    // (an uncapped VM's slices do not depend on where the period starts: a restored VM slices as it would have)
    const capLeft = this.clock === 'instructions' && best.capPercent !== undefined ? Math.ceil(best.cap * this.period - best.periodUsed) : Infinity;
    const budget = Math.max(1, Math.min(best.slice ?? this.slice, best.budgetLeft, capLeft));
    const t0 = this.clock === 'wall' ? host().nowNs() : 0;
    let retired = 0;
    try {
      retired = best.vm.runSlice(vcpu, budget);
    } catch (e) {
      // a failure on the host side of one VM (a device model) stops that VM alone
      best.vm.requestStop({ kind: 'error', reason: `VM ${best.vm.name} stopped: host error: ${(e as Error).message}`, input: false });
    }
    const cost = this.clock === 'wall' ? host().nowNs() - t0 : Math.max(1, retired);
    best.budgetLeft -= retired;
    best.charge(index, cost);
    best.pass += cost / best.shares;
    best.received += cost;
    best.periodUsed += cost;
    best.dispatches++;
    this.advance(cost);
    return { kind: 'ran', entity: best, cost };
  }

  /** Time passes with the host idle because of caps (or nothing to run). */
  idle(cost: number): void {
    this.advance(cost);
    this.rollPeriod();
  }

  /**
   * A new period gives each VM its allowance again. What a VM ran beyond its
   * cap (a slice may overrun it with the wall clock) is carried over as debt.
   */
  private rollPeriod(): void {
    const periods = Math.floor((this.elapsed - this.periodStart) / this.period);
    if (periods < 1) return;
    this.periodStart += periods * this.period;
    for (const e of this.entities) e.periodUsed = Math.max(0, e.periodUsed - periods * e.cap * this.period);
  }

  /**
   * Time advances by `cost`: each VM runnable over it is entitled to its part,
   * by shares, with caps filled first (water-filling): a capped VM gets at most
   * its cap, and what it cannot use is shared by the others.
   */
  private advance(cost: number): void {
    this.elapsed += cost;
    const active = this.entities.filter((e) => e.wasRunnable);
    let left = 1;
    let open = active;
    while (open.length) {
      const total = open.reduce((s, e) => s + e.shares, 0);
      const over = open.filter((e) => (left * e.shares) / total > e.cap);
      if (!over.length) {
        for (const e of open) e.entitled += (cost * left * e.shares) / total;
        break;
      }
      for (const e of over) { e.entitled += cost * e.cap; left -= e.cap; }
      open = open.filter((e) => !over.includes(e));
    }
  }
}

/** Jain's fairness index over x_i = received ÷ entitled: 1 is perfectly fair. */
export function jainIndex(ratios: number[]): number {
  if (!ratios.length) return 1;
  const sum = ratios.reduce((s, x) => s + x, 0);
  const sq = ratios.reduce((s, x) => s + x * x, 0);
  return sq === 0 ? 1 : (sum * sum) / (ratios.length * sq);
}
