// The hypervisor: owns VMs made from a validated config, schedules their
// vCPUs on the one host CPU by shares and caps (scheduler.ts), enforces the
// host-wide memory budget, applies each VM's isolation policy, drives the
// lifecycle (created → running ⇄ paused → stopped), takes snapshots and
// restores them, and reports fairness.
import type { Vm, VmState } from '../vm/vm.js';
import { Pc } from '../platform/pc.js';
import { HostedPlatform } from './hosted-platform.js';
import type { BlockDevice } from '../storage/block-device.js';
import { IsolationPolicy, type ViolationKind } from './policy.js';
import { Scheduler, SchedEntity, jainIndex, type SchedClock } from './scheduler.js';
import { parseConfig, loadConfigFile, checkConfigFiles, type VmConfig } from './config.js';
import { host } from '../host/platform.js';
import { LineConsole } from './console.js';
import { captureVm, restoreVm, writeSnapshot, readSnapshot } from '../vm/snapshot.js';
import { TrapezeError } from '../errors.js';
import { describeStop, stopReport, type StopReport } from '../commands/outcome.js';

export interface HypervisorOptions {
  hostMemoryMiB?: number;
  clock?: SchedClock;
  sliceInstructions?: number;
  /** Each complete console line of each VM. */
  console?: (vm: string, line: string) => void;
  /** Each policy violation (and each VM that stops). */
  log?: (vm: string, message: string) => void;
  /** fromConfig: before creating VM `index` of `total` (for progress). */
  onCreate?: (index: number, total: number, name: string) => void;
}

/** A VM under the hypervisor (a PC: 8259s, 8254, local APICs, ATA), with what it was made from. */
export class Guest {
  readonly console: LineConsole;
  constructor(
    readonly config: VmConfig,
    readonly pc: Pc,
    readonly platform: HostedPlatform,
    readonly entity: SchedEntity,
    readonly disks: BlockDevice[],
    readonly policy: IsolationPolicy,
    console: LineConsole,
  ) { this.console = console; }
  get name(): string { return this.config.name; }
  get vm(): Vm { return this.pc.vm; }
  get state(): VmState { return this.vm.state; }
}

export interface VmStats {
  name: string;
  state: VmState;
  vcpus: number;
  shares: number;
  capPercent: number | null;
  instructions: number;
  /** CPU received and entitled, in the scheduler's unit (instructions or ns). */
  cpuReceived: number;
  cpuEntitled: number;
  /** Fractions of all host CPU time so far. */
  shareReceived: number;
  shareEntitled: number;
  /** received ÷ entitled (1 = exactly its fair share). */
  fairness: number;
  exits: Record<string, number>;
  violations: Record<ViolationKind, number>;
  stop: StopReport | null;
}

export interface HypervisorStats {
  clock: SchedClock;
  /** Host time in the scheduler's unit. */
  elapsed: number;
  jainIndex: number;
  vms: VmStats[];
}


export class Hypervisor {
  readonly scheduler: Scheduler;
  readonly guests = new Map<string, Guest>();
  readonly hostMemoryMiB: number;
  private readonly options: HypervisorOptions;

  constructor(options: HypervisorOptions = {}) {
    this.options = options;
    this.hostMemoryMiB = options.hostMemoryMiB ?? Infinity;
    this.scheduler = new Scheduler({ clock: options.clock, sliceInstructions: options.sliceInstructions });
  }

  /** A hypervisor with every VM of a config (object or validated file) created. */
  static fromConfig(config: string | unknown, options: HypervisorOptions = {}): Hypervisor {
    const c = typeof config === 'string' ? loadConfigFile(config) : parseConfig(config);
    // every file checked before any is opened; a VM failing later takes back what was created
    const created = checkConfigFiles(c);
    const hv = new Hypervisor({ hostMemoryMiB: c.hostMemoryMiB, clock: c.clock, sliceInstructions: c.sliceInstructions, ...options });
    try {
      c.vms.forEach((vm, i) => {
        options.onCreate?.(i, c.vms.length, vm.name);
        hv.add(vm);
      });
    } catch (e) {
      hv.close();
      for (const f of created) host().files.remove(f);
      throw e;
    }
    return hv;
  }

  get memoryInUseMiB(): number {
    let n = 0;
    for (const g of this.guests.values()) if (g.state !== 'stopped') n += g.config.memoryMiB;
    return n;
  }

  /**
   * Create a VM (state "created") from one entry of the config format, validated.
   * Refused when it would pass the host memory budget.
   */
  create(raw: unknown): Guest {
    return this.add(parseConfig({ vms: [raw] }).vms[0]);
  }

  private add(config: VmConfig): Guest {
    if (this.guests.has(config.name)) throw new TrapezeError(`a VM named "${config.name}" already exists`);
    if (this.memoryInUseMiB + config.memoryMiB > this.hostMemoryMiB) {
      throw new TrapezeError(`VM ${config.name} needs ${config.memoryMiB} MiB but only ${this.hostMemoryMiB - this.memoryInUseMiB} MiB of the host budget (${this.hostMemoryMiB} MiB) is left`);
    }
    const disks = openDisks(config);
    const console = new LineConsole(config.name, this.options.console);
    const pc = new Pc({
      name: config.name, memoryMiB: config.memoryMiB, vcpus: config.vcpus, haltWaits: true, disks,
      sliceInstructions: this.scheduler.slice, serial: (b) => console.byte(b),
      clock: this.scheduler.clock === 'wall' ? 'wall' : 'virtual',
    });
    const vm = pc.vm;
    const platform = new HostedPlatform(pc);
    vm.platform = platform;
    const policy = new IsolationPolicy(config.policy);
    vm.filter = policy;
    policy.applyToCpuid(vm.cpuid);
    vm.vcpus.forEach((v) => policy.applyToVcpu(v));
    policy.onRefused = (kind, detail) => this.options.log?.(config.name, `policy violation (${kind}): ${detail} → ${policy.onViolation}`);
    try {
      if (config.kernel) pc.bootMultiboot(config.kernel, config.cmdline ?? '');
      else pc.reset(); // a VM to restore into: the firmware mapped, its state comes next
    } catch (e) {
      pc.close();
      throw e;
    }
    const entity = new SchedEntity(vm, config.shares, config.capPercent);
    entity.budgetLeft = policy.maxInstructions;
    entity.slice = config.sliceInstructions;
    const guest = new Guest(config, pc, platform, entity, disks, policy, console);
    this.guests.set(config.name, guest);
    this.scheduler.add(entity);
    return guest;
  }

  get(name: string): Guest {
    const g = this.guests.get(name);
    if (!g) throw new TrapezeError(`no VM named "${name}" (VMs: ${[...this.guests.keys()].join(', ') || 'none'})`);
    return g;
  }

  // ---- lifecycle ----
  /** Start one VM, or every created VM. */
  start(name?: string): void {
    if (name !== undefined) { this.get(name).vm.start(); return; }
    for (const g of this.guests.values()) if (g.state === 'created') g.vm.start();
  }
  pause(name: string): void { this.get(name).vm.pause(); }
  resume(name: string): void { this.get(name).vm.resume(); }
  stop(name: string): void {
    const g = this.get(name);
    g.vm.stop();
    this.release(g);
  }

  /** Inject an external interrupt into a vCPU (as an interrupt controller would). */
  interrupt(name: string, vector: number, vcpu = 0): void {
    this.get(name).vm.vcpus[vcpu].injectInterrupt(vector);
  }

  // ---- running ----
  /**
   * Run the scheduler until `instructions` more guest instructions have run
   * (over all VMs), nothing is runnable, or `until` says so. Deterministic with
   * the instruction clock. Returns the instructions run.
   */
  runFor(instructions: number, until: () => boolean = () => false): number {
    let done = 0;
    while (done < instructions && !until()) {
      const r = this.scheduler.step();
      if (r.kind === 'ran') {
        done += r.cost;
        this.afterDispatch(r.entity, r.cost);
        continue;
      }
      if (this.scheduler.clock === 'wall') break; // the caller sleeps (see runAsync)
      // nothing can run now: host time moves on to the next timer or cap period
      const wait = Math.min(r.kind === 'capped' ? r.wait : Infinity, this.nextEvent());
      if (wait === Infinity) break;
      this.idle(wait);
    }
    return done;
  }

  /** Host instructions until some VM's next timer. */
  private nextEvent(): number {
    let n = Infinity;
    for (const g of this.guests.values()) if (g.state === 'running') n = Math.min(n, g.platform.instructionsToNextEvent());
    return n;
  }

  /** The host idles for `cost` (every VM's time moves on). */
  private idle(cost: number): void {
    this.scheduler.idle(cost);
    for (const g of this.guests.values()) g.platform.advance(cost);
  }

  /**
   * Run in wall-clock quanta, yielding to the event loop between them (so the
   * control API and timers are served), for `seconds` or until every VM has
   * stopped or `signal` aborts.
   */
  async runAsync(options: { seconds?: number; quantumMs?: number; signal?: AbortSignal; onQuantum?: () => void } = {}): Promise<void> {
    const deadline = options.seconds !== undefined ? Date.now() + options.seconds * 1000 : Infinity;
    const quantum = options.quantumMs ?? 20;
    while (Date.now() < deadline && !options.signal?.aborted && this.anyAlive()) {
      const end = Math.min(deadline, Date.now() + quantum);
      let idle = false;
      while (Date.now() < end) {
        const r = this.scheduler.step();
        if (r.kind === 'ran') { this.afterDispatch(r.entity, r.cost); continue; }
        if (this.scheduler.clock === 'wall') {
          // real idle time: sleep until the cap period ends (or a little, to poll timers)
          const ms = Math.min(r.kind === 'capped' ? r.wait / 1e6 : 5, end - Date.now());
          const t0 = host().nowNs();
          await sleep(ms);
          this.idle(host().nowNs() - t0);
          continue;
        }
        const wait = Math.min(r.kind === 'capped' ? r.wait : Infinity, this.nextEvent());
        if (wait !== Infinity) { this.idle(wait); continue; }
        idle = true;
        break;
      }
      options.onQuantum?.();
      await sleep(idle ? 5 : 0);
    }
  }

  private anyAlive(): boolean {
    for (const g of this.guests.values()) if (g.state !== 'stopped') return true;
    return false;
  }

  /** After a VM ran: time for every VM, its instruction budget, and whether the guest ended its run. */
  private afterDispatch(e: SchedEntity, cost: number): void {
    for (const other of this.guests.values()) other.platform.advance(cost);
    const g = this.guests.get(e.vm.name)!;
    if (e.budgetLeft <= 0 && !e.vm.stopped) {
      g.policy.record('instructions', `ran ${g.policy.maxInstructions} instructions`);
      this.options.log?.(g.name, `reached its maximum of ${g.policy.maxInstructions} instructions`);
      e.vm.requestStop({ kind: 'instruction-limit', limit: g.policy.maxInstructions, vm: g.name });
    }
    if (e.vm.stopped && e.vm.state !== 'stopped') {
      e.vm.finish();
      g.console.flush();
      this.options.log?.(g.name, `stopped: ${describeStop(e.vm.stopped)}`);
      this.release(g);
    }
  }

  private release(g: Guest): void {
    g.pc.close();
  }

  // ---- snapshots ----
  /** Snapshot a paused VM to a file (an existing file only with `overwrite`). */
  snapshot(name: string, path: string, options: { overwrite?: boolean } = {}): void {
    const g = this.get(name);
    if (g.state !== 'paused') throw new TrapezeError(`cannot snapshot VM ${name}: it is ${g.state} (pause it first)`);
    const e = g.entity;
    writeSnapshot(path, captureVm(g.vm, g.pc.snapshotParts(), {
      config: g.config,
      transcript: g.console.transcript,
      scheduler: { received: e.received, entitled: e.entitled, budgetLeft: e.budgetLeft, dispatches: e.dispatches, vcpuTurns: e.vcpuTurns() },
      violations: g.policy.counts,
      // disks are referenced, not copied: a restore reopens the same files (overlays included)
      disks: g.config.disks.map((d) => ({ file: d.file, overlay: d.overlay })),
    }), options);
  }

  /** A new VM (paused) from a snapshot file; `name` renames it. */
  restore(path: string, name?: string): Guest {
    const snap = readSnapshot(path);
    const extra = snap.header.extra as { config: VmConfig; transcript: string; scheduler: { received: number; entitled: number; budgetLeft: number | null; dispatches: number; vcpuTurns?: { used: number[]; wasRunnable: number[] } }; violations: Record<ViolationKind, number> };
    const config: VmConfig = { ...extra.config, name: name ?? extra.config.name, kernel: '' };
    const g = this.add(config);
    restoreVm(g.vm, snap, g.pc.snapshotParts());
    g.console.transcript = extra.transcript;
    Object.assign(g.policy.counts, extra.violations);
    g.entity.budgetLeft = extra.scheduler.budgetLeft ?? Infinity; // JSON turns Infinity into null
    g.entity.dispatches = extra.scheduler.dispatches;
    if (extra.scheduler.vcpuTurns) g.entity.restoreVcpuTurns(extra.scheduler.vcpuTurns); // absent before format 4
    g.vm.start();
    g.vm.pause();
    return g;
  }

  // ---- figures ----
  stats(): HypervisorStats {
    const elapsed = this.scheduler.elapsed;
    const vms = [...this.guests.values()].map((g): VmStats => {
      const e = g.entity;
      return {
        name: g.name,
        state: g.state,
        vcpus: g.vm.vcpus.length,
        shares: e.shares,
        capPercent: e.capPercent ?? null,
        instructions: g.vm.instructionsRetired,
        cpuReceived: e.received,
        cpuEntitled: e.entitled,
        shareReceived: elapsed ? e.received / elapsed : 0,
        shareEntitled: elapsed ? e.entitled / elapsed : 0,
        fairness: e.entitled ? e.received / e.entitled : 1,
        exits: g.vm.exitStats(),
        violations: { ...g.policy.counts },
        stop: g.vm.stopped ? stopReport(g.vm.stopped) : null,
      };
    });
    const ratios = vms.filter((v) => v.cpuEntitled > 0).map((v) => v.fairness);
    return { clock: this.scheduler.clock, elapsed, jainIndex: jainIndex(ratios), vms };
  }

  close(): void {
    for (const g of this.guests.values()) this.release(g);
  }
}

/** The VM's disks, on the primary ATA channel: the boot disk first. */
function openDisks(config: VmConfig): BlockDevice[] {
  const specs = [...(config.disk ? [{ file: config.disk }] : []), ...config.disks];
  if (specs.length > 2) throw new TrapezeError(`VM ${config.name} has ${specs.length} disks; the primary ATA channel takes 2 (master and slave)`);
  const disks: BlockDevice[] = [];
  try {
    for (const d of specs) disks.push(host().openDisk(d));
  } catch (e) {
    for (const d of disks) d.close();
    throw e;
  }
  return disks;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}
