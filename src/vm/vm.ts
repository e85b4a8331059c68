// A virtual machine: one core instance (its RAM), vCPUs, the port and MMIO
// buses with their devices, and the loop that runs the core and handles each
// exit it returns — the VMM's side of KVM_RUN.
import { createCore, type CoreInstance, type TraceHooks, type PortHandler } from '../core/core.js';
import { jitDefault, type JitOptions } from '../core/jit.js';
import {
  Exit, ExitReason, EXIT_REASON_NAMES, IO_BUFFER, State, DetailFlag, RAM_BASE, MSR_ASK, FPU_REG_SIZE,
  CPUID_CONTROL, CPUID_TABLE, CPUID_TABLE_SIZE, CPUID_ENTRY_SIZE, CPUID_MAX_ENTRIES, CpuidTable, CpuidEntry,
} from '../core/layout.js';
import { Vcpu } from './vcpu.js';
import { PortBus, type IoSize } from './portbus.js';
import { MmioBus } from './mmiobus.js';
import { TrapezeError } from '../errors.js';
import { CpuidPolicy } from './cpuid.js';
import type { AccessFilter, AccessKind } from './access-filter.js';
import type { ExitObserver } from './exit-observer.js';
import { saveBytes, bytesOf, type SnapshotPart, type SavedBytes } from './snapshot-part.js';

export type VmState = 'created' | 'running' | 'paused' | 'stopped';

/** The lifecycle: each action, the states it may start from, and where it leads. */
const LIFECYCLE = {
  start: { from: ['created'], to: 'running' },
  pause: { from: ['running'], to: 'paused' },
  resume: { from: ['paused'], to: 'running' },
  stop: { from: ['created', 'running', 'paused'], to: 'stopped' },
} as const satisfies Record<string, { from: readonly VmState[]; to: VmState }>;
export type LifecycleAction = keyof typeof LIFECYCLE;

/** Why a run ended. */
/**
 * How a run ended, as data: the VM reports what happened; the CLI
 * (src/commands/outcome.ts) words it and chooses the process exit status.
 */
export type StopInfo =
  /** The guest wrote `value` to port 0xF4; `code` is the exit code it asked for ((value << 1) | 1). */
  | { kind: 'debug-exit'; value: number; code: number }
  /** HLT with nothing that could wake the vCPU (`allVcpus`: every vCPU of an SMP guest). */
  | { kind: 'halted'; eip: number; interruptsEnabled: boolean; allVcpus: boolean }
  /** Triple fault after exception `vector` (its error code when it has one), at `eip`. */
  | { kind: 'shutdown'; vector: number; errorCode?: number; eip: number; opcode?: number; unimplemented: boolean }
  /** The core met something it does not support (`code`: an ErrorCode), at `eip`. */
  | { kind: 'error'; code: number; eip: number; reason?: undefined }
  /** The firmware or the host could not go on, for `reason` (`input`: the guest's input was at fault). */
  | { kind: 'error'; reason: string; input: boolean }
  /** The instruction limit of the run (`vm` set when it is a hypervisor policy's). */
  | { kind: 'instruction-limit'; limit: number; vm?: string }
  | { kind: 'timeout'; ms: number }
  /** An isolation policy with onViolation "stop" refused `detail`. */
  | { kind: 'policy'; vm: string; detail: string }
  /** The host stopped it, for `reason`. */
  | { kind: 'stopped'; reason: string };

export type StopKind = StopInfo['kind'];

export interface VmOptions {
  name?: string;
  memoryMiB?: number;
  /** Exact RAM size in bytes (overrides memoryMiB). */
  memoryBytes?: number;
  vcpus?: number;
  /** Instructions a vCPU runs before the host gets control back (preemption). */
  sliceInstructions?: number;
  /** Run on this compiled core instead of build/core.wasm (a benchmark's earlier build). */
  coreModule?: WebAssembly.Module;
  /** Run on the trace build of the core, which reports each instruction and event here. */
  trace?: TraceHooks;
  /**
   * HLT with interrupts enabled waits for an interrupt (a host, a timer or
   * another vCPU may raise one) instead of ending the run. A hypervisor sets it.
   */
  haltWaits?: boolean;
  /** The JIT tier (src/core/jit.ts); default: on, unless TRAPEZE_JIT=off. */
  jit?: JitOptions;
}

export interface RunOptions {
  maxInstructions?: number;
  timeoutMs?: number;
  /** Called every TICK_EXITS exits (a live status line); it reads the clock itself. */
  onTick?: () => void;
}

/** Exits between two onTick calls: a clock read per 32 exits costs little even at 40 ns an exit, and a 1M-instruction slice still ticks every few ms. */
const TICK_EXITS = 32;

/**
 * What a platform (src/platform/) adds to the run loop: time, interrupt
 * controllers, and waiting while every vCPU halts.
 */
export interface PlatformHooks {
  /** Instructions `vcpu` may run before the platform needs control (a timer is due, an interrupt waits for IF). */
  budgetLimit(vcpu: Vcpu): number;
  /** An entry of `vcpu` retired `n` instructions: advance time, fire due timers. */
  retired(vcpu: Vcpu, n: number): void;
  /**
   * Inside an entry, which has retired `n` instructions so far (a device is
   * read inline): the machine's time counts them until `retired` ends the entry.
   */
  retiredSoFar?(n: number): void;
  /** The vector the interrupt controllers present to `vcpu`, acknowledged (INTA); -1 = none. */
  acknowledgeInterrupt(vcpu: Vcpu): number;
  /** Whether the controllers hold an interrupt for `vcpu`, without acknowledging it. */
  interruptPending?(vcpu: Vcpu): boolean;
  /** `vcpu` halted with nothing pending: wait for the next event (virtual time skips to it). False when none can come. */
  idle(vcpu: Vcpu): boolean;
  /** FERR#: an unmasked x87 exception with CR0.NE = 0. A PC raises IRQ 13. */
  ferr?(vcpu: Vcpu): void;
}

export interface ExitStats {
  counts: Record<string, number>;
  ioPorts: Map<number, number>;
}

const EXIT_COUNT = EXIT_REASON_NAMES.length;

/** State-block ranges INIT keeps: [offset, bytes]. */
const KEPT_BY_INIT: readonly (readonly [number, number])[] = [
  [State.tsc, 16], // the TSC, and the instructions retired (the host's count)
  [State.a20Mask, 4], // the A20 pin is the platform's
  [State.sysenterCs, State.pendingAttr - State.sysenterCs], // SYSENTER_CS/ESP/EIP, IA32_APIC_BASE
  [State.miscEnable, State.fpuRegs + 8 * FPU_REG_SIZE - State.miscEnable], // MISC_ENABLE, PAT, the host's counters, x87
  [State.xmm, State.mxcsr + 4 - State.xmm], // XMM0-7, MXCSR
];
const CR0_CD_NW = 0x60000000;

/** Instructions each vCPU runs in its turn when several share the core. */
const SMP_SLICE = 20_000;
/**
 * The turn after a spin-wait exit (PAUSE, a test-and-set on a taken lock): short,
 * so the lock's holder, which may take it again at once (an idle scheduler's
 * loop), is stopped at many points of its loop and the spinner soon finds it free.
 */
const SPIN_TURN = 500;

/** What a VM saves of its own in a snapshot (its vCPUs' blocks and RAM are saved apart). */
export interface VmTurnState {
  nextTurn: number;
  recordOwner: number;
  parked: { vcpu: number; exit: SavedBytes; buffer: SavedBytes | null }[];
}

export class Vm implements SnapshotPart<VmTurnState>, PortHandler {
  readonly name: string;
  readonly core: CoreInstance;
  readonly vcpus: Vcpu[];
  readonly ports = new PortBus();
  readonly mmio = new MmioBus();
  /** What CPUID answers; every change is written into the core's CPUID table at once. */
  readonly cpuid = new CpuidPolicy(() => this.writeCpuidTables());
  /** Whether hot code is compiled (src/core/jit.ts). */
  readonly jitOn: boolean;
  readonly ramBytes: number;
  private lifecycle: VmState = 'created';
  /** The filter in front of the buses and MSRs (an isolation policy): what the guest may use, and what a refusal does. */
  get filter(): AccessFilter | undefined { return this.accessFilter; }
  set filter(f: AccessFilter | undefined) { this.accessFilter = f; this.syncInlinePorts(); }
  private accessFilter: AccessFilter | undefined;
  private readonly observers: ExitObserver[] = [];
  private readonly traced: boolean;
  readonly haltWaits: boolean;
  /** Exits by reason (index = ExitReason). */
  readonly exitCounts = new Float64Array(EXIT_COUNT);
  /** Time and interrupt controllers of the machine, when it has them (src/platform/pc.ts). */
  platform: PlatformHooks | undefined;
  private stopInfo: StopInfo | undefined;
  private readonly slice: number;
  private readonly view: DataView;

  constructor(options: VmOptions = {}) {
    this.name = options.name ?? 'vm';
    const bytes = options.memoryBytes ?? (options.memoryMiB ?? 32) * 1024 * 1024;
    const jit = { ...jitDefault(), ...options.jit };
    this.jitOn = jit.on === true && !options.trace && (!options.coreModule || hasJit(options.coreModule));
    this.core = createCore(bytes, options.vcpus ?? 1, options.trace, options.coreModule, jit);
    this.ramBytes = bytes;
    this.view = this.core.view;
    this.vcpus = Array.from({ length: options.vcpus ?? 1 }, (_, i) => new Vcpu(this.core, i));
    this.slice = options.sliceInstructions ?? 1_000_000;
    this.haltWaits = options.haltWaits ?? false;
    // application processors wait for INIT/SIPI
    this.vcpus.forEach((v, i) => { v.waitingForSipi = i > 0; });
    this.vcpus.forEach((v) => this.pauseExiting(v));
    this.writeCpuidTables();
    this.traced = options.trace !== undefined;
    this.core.ioHooks.handler = this;
    this.openBusAt = this.core.exports.openBusCount?.() ?? 0;
    this.ports.onChange = () => this.syncInlinePorts();
    this.syncInlinePorts();
  }

  /**
   * An IN or OUT the core answered from inside the run (assembly/cpu/io.ts):
   * counted as the Io exit it stands for. A read sees the machine's time with
   * the `retired` instructions the run has retired so far, as after an exit there.
   */
  inlinePortIo(dir: number, port: number, size: number, value: number, retired?: number): number {
    this.exitCounts[ExitReason.Io]++;
    if (dir === 0) { this.ports.write(port, size as IoSize, value); return 0; }
    if (retired !== undefined) this.platform?.retiredSoFar?.(retired);
    return this.ports.read(port, size as IoSize);
  }

  /**
   * Which ports the core answers inline (assembly/cpu/io.ts): those the bus can
   * (PortBus.inline) while nothing watches or filters exits; otherwise none, and
   * every IN and OUT leaves the core so the observers and the filter see it. An
   * inline access is still counted as an Io exit.
   */
  private syncInlinePorts(): void {
    const at = this.core.exports.inlinePorts?.();
    if (at === undefined) return;
    const on = this.observers.length === 0 && this.accessFilter === undefined && !this.traced;
    const bytes = this.core.bytes;
    if (on) bytes.set(this.ports.inline, at);
    else bytes.fill(0, at, at + this.ports.inline.length);
    const reads = this.core.exports.inlineReadPorts?.();
    if (reads !== undefined) {
      if (on) bytes.set(this.ports.inlineReads, reads);
      else bytes.fill(0, reads, reads + this.ports.inlineReads.length);
    }
    const open = this.core.exports.openPorts?.();
    if (open === undefined) return;
    if (on) bytes.set(this.ports.open, open);
    else bytes.fill(0, open, open + this.ports.open.length);
  }

  /** The open-bus accesses the core answered since the last exit: counted as the Io exits (and unclaimed accesses) they stand for. */
  private takeOpenBusCount(): void {
    const at = this.openBusAt;
    if (at === 0) return;
    const n = this.view.getUint32(at, true);
    if (n === 0) return;
    this.view.setUint32(at, 0, true);
    this.exitCounts[ExitReason.Io] += n;
    this.ports.unclaimed += n;
  }
  private readonly openBusAt: number;

  // ---- CPUID ----
  /**
   * The policy's answers into each vCPU's CPUID table in the core (as
   * KVM_SET_CPUID2): leaf 1 carries the vCPU's APIC ID (its index).
   */
  private writeCpuidTables(): void {
    if (!this.vcpus) return; // the policy is built before the core
    const v = this.view;
    const leaves = this.cpuid.leaves();
    if (leaves.length > CPUID_MAX_ENTRIES) throw new TrapezeError(`CPUID policy answers ${leaves.length} leaves; the core's table holds ${CPUID_MAX_ENTRIES}`);
    for (const vcpu of this.vcpus) {
      const table = CPUID_TABLE + vcpu.index * CPUID_TABLE_SIZE;
      leaves.forEach((leaf, i) => {
        const e = table + CpuidTable.entries + i * CPUID_ENTRY_SIZE;
        const regs = this.cpuid.leaf(leaf, 0, vcpu.index);
        v.setUint32(e + CpuidEntry.leaf, leaf, true);
        v.setUint32(e + CpuidEntry.index, 0, true);
        v.setUint32(e + CpuidEntry.flags, 0, true);
        v.setUint32(e + CpuidEntry.eax, regs[0], true);
        v.setUint32(e + CpuidEntry.ebx, regs[1], true);
        v.setUint32(e + CpuidEntry.ecx, regs[2], true);
        v.setUint32(e + CpuidEntry.edx, regs[3], true);
      });
      v.setUint32(table + CpuidTable.count, leaves.length, true);
    }
  }

  /** Every CPUID leaves the core and is answered here (a tracer or a policy that watches CPUID); off, the core answers from its table. */
  get cpuidExits(): boolean { return this.view.getUint32(CPUID_CONTROL, true) !== 0; }
  set cpuidExits(on: boolean) { this.view.setUint32(CPUID_CONTROL, on ? 1 : 0, true); }

  // ---- lifecycle ----
  get state(): VmState { return this.lifecycle; }

  /** created → running ⇄ paused → stopped. An illegal action is an error, never a no-op. */
  transition(action: LifecycleAction): void {
    const rule = LIFECYCLE[action];
    if (!(rule.from as readonly VmState[]).includes(this.lifecycle)) {
      throw new TrapezeError(`cannot ${action} VM ${this.name}: it is ${this.lifecycle} (${action} needs ${rule.from.join(' or ')})`);
    }
    this.lifecycle = rule.to;
    if (action === 'stop') this.requestStop({ kind: 'stopped', reason: `VM ${this.name} was stopped by the host` });
  }
  start(): void { this.transition('start'); }
  pause(): void { this.transition('pause'); }
  resume(): void { this.transition('resume'); }
  stop(): void { this.transition('stop'); }
  /** The guest ended its own run (debug exit, crash, policy): the VM is stopped. */
  finish(): void { this.lifecycle = 'stopped'; }

  // ---- vCPUs ----
  /**
   * INIT: the vCPU goes back to its reset state and waits for a SIPI, except
   * what the SDM's INIT column (Vol. 3A Table 9-1) leaves unchanged: x87 and SSE
   * state, the MSRs and TSC, CR0.CD/NW; and the host's counts and the A20 pin.
   */
  initVcpu(index: number): void {
    const bytes = this.core.bytes, view = this.view;
    let base = this.core.exports.stateOffset(index);
    const kept = KEPT_BY_INIT.map(([at, n]) => bytes.slice(base + at, base + at + n));
    const cacheBits = view.getUint32(base + State.cr0, true) & CR0_CD_NW;
    this.core.exports.resetVcpu(index);
    base = this.core.exports.stateOffset(index);
    KEPT_BY_INIT.forEach(([at], i) => bytes.set(kept[i], base + at));
    view.setUint32(base + State.cr0, (view.getUint32(base + State.cr0, true) & ~CR0_CD_NW) | cacheBits, true);
    this.core.exports.stateChanged(index);
    this.pauseExiting(this.vcpus[index]);
    this.vcpus[index].waitingForSipi = true;
    this.filter?.applyToVcpu(this.vcpus[index]);
  }
  /** With other vCPUs to run, PAUSE (a spin-wait's hint) ends the slice, as KVM's pause-loop exiting does. */
  private pauseExiting(v: Vcpu): void { v.set('pauseExit', this.vcpus.length > 1 ? 1 : 0); }
  /** Startup IPI: the vCPU starts in real mode at vector·0x1000. */
  startupVcpu(index: number, vector: number): void {
    const v = this.vcpus[index];
    if (!v.waitingForSipi) return; // a SIPI to a running processor is ignored
    v.setSegment('cs', { selector: (vector & 0xff) << 8, base: (vector & 0xff) << 12, limit: 0xffff, attr: 0x9b });
    v.eip = 0;
    v.halted = false;
    v.waitingForSipi = false;
  }
  /**
   * An event for another vCPU (an IPI, INIT, SIPI, NMI, an interrupt that wakes
   * it): the running vCPU's turn ends at this exit and `index` runs next, so the
   * event is taken within the exit that raised it, not a whole turn later.
   * Deterministic: the exit is at the same instruction in every run.
   */
  handOver(index: number): void {
    if (this.vcpus.length > 1) this.nextTurn = index;
  }
  private nextTurn = -1;

  /** A vCPU that can run now (not waiting for a SIPI, not halted or about to be woken). */
  runnable(v: Vcpu): boolean {
    return !v.waitingForSipi && (!v.halted || v.nmiPending || (v.pendingInterrupt >= 0 && v.interruptsEnabled));
  }
  /** A vCPU that could run again some day: not halted with interrupts off. */
  private wakeable(v: Vcpu): boolean {
    return !v.waitingForSipi && (!v.halted || v.interruptsEnabled);
  }

  /**
   * One dispatch: run `vcpu` for at most `budget` instructions and handle its
   * exit. Returns the instructions it retired.
   */
  runSlice(vcpu: Vcpu, budget: number): number {
    this.offerInterrupt(vcpu); // what arrived while other vCPUs ran is taken on entry, as KVM injects it
    if (this.recordOwner !== vcpu.index) {
      if (this.recordOwner >= 0) this.parkExit(this.vcpus[this.recordOwner]);
      this.unparkExit(vcpu);
      this.recordOwner = vcpu.index;
    }
    return this.enterOnce(vcpu, budget);
  }
  /** The vCPU whose last exit the exit record holds: it is parked only when another vCPU enters. */
  private recordOwner = -1;

  /** The body of every run loop: enter `vcpu` for at most `budget` instructions, handle its exit, offer it an interrupt. */
  private enterOnce(vcpu: Vcpu, budget: number): number {
    const platform = this.platform;
    const reason = this.core.exports.enter(vcpu.index, platform === undefined ? budget : Math.min(budget, platform.budgetLimit(vcpu)));
    const retired = this.view.getUint32(Exit.retired, true);
    this.exitCounts[reason]++;
    platform?.retired(vcpu, retired);
    this.handleExit(vcpu, reason);
    this.offerInterrupt(vcpu);
    return retired;
  }

  /**
   * The exit record is one for all vCPUs, but an IN's data (an INS's buffer) and
   * an MMIO read's value are consumed when that vCPU enters again: keep them
   * aside while other vCPUs run (KVM's kvm_run is per vCPU).
   */
  private readonly parked = new Map<number, { exit: Uint8Array; buffer: Uint8Array | undefined }>();

  // A snapshot part of its own: which vCPU runs next, and the exits kept aside
  // for vCPUs that are not running (their IN data must survive a restore).
  readonly snapshotVersion = 1;
  saveState(): VmTurnState {
    const parked = [...this.parked].map(([vcpu, p]) => ({ vcpu, exit: saveBytes(p.exit), buffer: p.buffer ? saveBytes(p.buffer) : null }));
    return { nextTurn: this.nextTurn, recordOwner: this.recordOwner, parked };
  }
  loadState(s: VmTurnState): void {
    this.nextTurn = s.nextTurn;
    this.recordOwner = s.recordOwner;
    this.parked.clear();
    for (const p of s.parked) this.parked.set(p.vcpu, { exit: bytesOf(p.exit), buffer: p.buffer ? bytesOf(p.buffer) : undefined });
  }
  private parkExit(vcpu: Vcpu): void {
    if (!vcpu.get('pendingIo') && !vcpu.get('mmioReplay')) return;
    const bytes = this.core.bytes;
    const n = vcpu.get('pendingIo') === 2 ? this.view.getUint32(Exit.ioSize, true) * this.view.getUint32(Exit.ioCount, true) : 0;
    this.parked.set(vcpu.index, {
      exit: bytes.slice(Exit.reason, Exit.insnEip + 4),
      buffer: n ? bytes.slice(IO_BUFFER, IO_BUFFER + n) : undefined,
    });
  }
  private unparkExit(vcpu: Vcpu): void {
    const p = this.parked.get(vcpu.index);
    if (!p) return;
    this.parked.delete(vcpu.index);
    this.core.bytes.set(p.exit, Exit.reason);
    if (p.buffer) this.core.bytes.set(p.buffer, IO_BUFFER);
  }

  /** Instructions retired by all vCPUs. */
  get instructionsRetired(): number {
    let n = 0;
    for (const v of this.vcpus) n += v.instructionsRetired;
    return n;
  }

  // ---- guest memory ----
  /** Copy bytes into guest-physical memory (must lie inside RAM). */
  writePhys(addr: number, data: Uint8Array): void {
    this.checkRam(addr, data.length);
    this.core.bytes.set(data, RAM_BASE + addr);
    this.core.exports.invalidatePhys(addr, data.length);
  }
  readPhys(addr: number, length: number): Uint8Array {
    this.checkRam(addr, length);
    return this.core.bytes.slice(RAM_BASE + addr, RAM_BASE + addr + length);
  }
  fillPhys(addr: number, length: number, value = 0): void {
    this.checkRam(addr, length);
    this.core.bytes.fill(value, RAM_BASE + addr, RAM_BASE + addr + length);
    this.core.exports.invalidatePhys(addr, length);
  }
  writePhys32(addr: number, v: number): void {
    this.checkRam(addr, 4);
    this.view.setUint32(RAM_BASE + addr, v >>> 0, true);
    this.core.exports.invalidatePhys(addr, 4);
  }
  readPhys32(addr: number): number { this.checkRam(addr, 4); return this.view.getUint32(RAM_BASE + addr, true); }
  private checkRam(addr: number, length: number): void {
    if (addr < 0 || length < 0 || addr + length > this.ramBytes) {
      throw new TrapezeError(`guest-physical range 0x${addr.toString(16)}+0x${length.toString(16)} is outside RAM (${this.ramBytes} bytes)`);
    }
  }

  // ---- stopping ----
  /** Called by devices (debug exit) and by the host to end the current run. */
  requestStop(info: StopInfo): void {
    if (!this.stopInfo) this.stopInfo = info;
  }

  get stopped(): StopInfo | undefined { return this.stopInfo; }

  // ---- the run loop ----
  /** Run vCPU 0 until the guest stops, or a limit is reached. */
  run(options: RunOptions = {}): StopInfo {
    if (this.lifecycle === 'created') this.start();
    else if (this.lifecycle !== 'running') throw new TrapezeError(`cannot run VM ${this.name}: it is ${this.lifecycle}`);
    const maxInsns = options.maxInstructions ?? Infinity;
    const deadline = options.timeoutMs !== undefined ? Date.now() + options.timeoutMs : Infinity;
    if (this.vcpus.length > 1) return this.runAll(maxInsns, deadline, options.timeoutMs, options.onTick);
    const onTick = options.onTick;
    let ticks = 0;
    const vcpu = this.vcpus[0];
    // the hot path of every exit: no BigInt, and no clock read unless there is a timeout
    let done = 0;
    while (!this.stopInfo) {
      if (done >= maxInsns) {
        this.requestStop({ kind: 'instruction-limit', limit: maxInsns });
        break;
      }
      if (deadline !== Infinity && Date.now() > deadline) {
        this.requestStop({ kind: 'timeout', ms: options.timeoutMs! });
        break;
      }
      if (onTick !== undefined && ++ticks >= TICK_EXITS) { ticks = 0; onTick(); }
      done += this.enterOnce(vcpu, Math.min(this.slice, maxInsns - done));
    }
    this.lifecycle = 'stopped';
    return this.stopInfo!;
  }

  /**
   * Several vCPUs on the one core: each runnable vCPU in turn for a short
   * slice (spin locks and IPIs need the others to make progress), the halted
   * ones offered their interrupts between turns. When none can run, the
   * platform waits for its next event on behalf of a halted vCPU.
   */
  private runAll(maxInsns: number, deadline: number, timeoutMs: number | undefined, onTick: (() => void) | undefined): StopInfo {
    const all = this.vcpus;
    let done = 0, next = 0, ticks = 0;
    let vcpu: Vcpu | undefined;
    let used = 0; // instructions the current vCPU ran in its turn
    let turn = SMP_SLICE; // the length of the current turn
    while (!this.stopInfo) {
      if (done >= maxInsns) {
        this.requestStop({ kind: 'instruction-limit', limit: maxInsns });
        break;
      }
      if (deadline !== Infinity && Date.now() > deadline) {
        this.requestStop({ kind: 'timeout', ms: timeoutMs! });
        break;
      }
      if (onTick !== undefined && ++ticks >= TICK_EXITS) { ticks = 0; onTick(); }
      // a turn ends when its slice is spent or the vCPU cannot go on; not after an I/O or MMIO
      // exit, whose value (an IN's data, an MMIO read's) the vCPU takes on its next entry
      const reason = this.view.getUint32(Exit.reason, true);
      const midAccess = reason === ExitReason.Io || reason === ExitReason.Mmio;
      // a spin-wait (PAUSE) hands the host CPU to the others now
      const handOver = this.nextTurn;
      if (!vcpu || !this.runnable(vcpu) || reason === ExitReason.Pause || (used >= turn && !midAccess) || handOver >= 0) {
        if (handOver >= 0) { next = handOver; this.nextTurn = -1; }
        vcpu = undefined;
        for (let k = 0; k < all.length && !vcpu; k++) {
          const c = all[(next + k) % all.length];
          if (c.halted) this.offerInterrupt(c);
          if (this.runnable(c)) vcpu = c;
        }
        used = 0;
        turn = reason === ExitReason.Pause ? SPIN_TURN : SMP_SLICE;
      }
      if (!vcpu) {
        // every vCPU halts or waits for a SIPI: time passes to the platform's next event
        const sleeper = all.find((c) => !c.waitingForSipi && c.halted && c.interruptsEnabled);
        if (sleeper && this.platform?.idle(sleeper)) continue;
        const bsp = all[0];
        this.requestStop({ kind: 'halted', eip: bsp.eip, interruptsEnabled: bsp.interruptsEnabled, allVcpus: true });
        break;
      }
      next = (vcpu.index + 1) % all.length;
      const n = this.runSlice(vcpu, Math.max(1, Math.min(turn - used, maxInsns - done)));
      used += n;
      done += n;
    }
    this.lifecycle = 'stopped';
    return this.stopInfo!;
  }

  /** Subscribe to every exit (tracing, timing, statistics); returns the unsubscribe. */
  observeExits(observer: ExitObserver): () => void {
    this.observers.push(observer);
    this.syncInlinePorts();
    return () => {
      const i = this.observers.indexOf(observer);
      if (i >= 0) this.observers.splice(i, 1);
      this.syncInlinePorts();
    };
  }

  /** Handle one exit of `vcpu`, its observers around it. Public so schedulers and harnesses can drive vCPUs themselves. */
  handleExit(vcpu: Vcpu, reason: number): void {
    this.takeOpenBusCount();
    const observers = this.observers;
    if (observers.length === 0) { this.dispatchExit(vcpu, reason); return; }
    for (const o of observers) o.beforeExit?.(vcpu, reason);
    this.dispatchExit(vcpu, reason);
    for (const o of observers) o.afterExit?.(vcpu, reason);
  }

  /**
   * The chain: the filter (when there is one) decides whether the access may
   * happen, then the bus (ports, MMIO) or the VM's own answer (CPUID, MSRs,
   * HLT) handles it, and answers the core through its exit protocol.
   */
  private dispatchExit(vcpu: Vcpu, reason: number): void {
    const v = this.view;
    switch (reason) {
      case ExitReason.Io: {
        const port = v.getUint32(Exit.ioPort, true), size = v.getUint32(Exit.ioSize, true) as IoSize;
        if (this.accessFilter !== undefined && !this.accessFilter.allowsPort(port, size)) { this.refuse(vcpu, 'io', `port 0x${port.toString(16)} (${size} byte${size > 1 ? 's' : ''})`); return; }
        // the common case, one OUT or IN, without a further call
        if (v.getUint32(Exit.ioCount, true) === 1) {
          if (v.getUint32(Exit.ioDir, true) === 0) { this.ports.write(port, size, v.getUint32(Exit.ioData, true)); return; }
          this.core.exports.completeIo(vcpu.index, this.ports.read(port, size));
          return;
        }
        this.handleStringIo(port, size);
        return;
      }
      case ExitReason.Mmio: {
        const addr = v.getUint32(Exit.mmioAddr, true);
        const size = v.getUint32(Exit.mmioSize, true) as IoSize;
        if (this.filter !== undefined && !this.filter.allowsMmio(addr, size)) { this.refuse(vcpu, 'mmio', `MMIO 0x${addr.toString(16)} (${size} byte${size > 1 ? 's' : ''})`); return; }
        if (v.getUint32(Exit.mmioDir, true) === 1) {
          this.core.exports.completeMmioRead(vcpu.index, this.mmio.read(addr, size));
        } else {
          this.mmio.write(addr, size, v.getUint32(Exit.mmioData, true));
        }
        return;
      }
      case ExitReason.Hlt: this.handleHalt(vcpu); return;
      case ExitReason.Budget: return;
      case ExitReason.IrqWindow: return;
      case ExitReason.Pause: return; // a spin-wait: the scheduler runs another vCPU // the guest set IF: offerInterrupt (after every exit) hands the vector over
      case ExitReason.Cpuid: {
        const [a, b, c, d] = this.cpuid.leaf(v.getUint32(Exit.cpuidLeaf, true), v.getUint32(Exit.cpuidSubleaf, true), vcpu.index);
        vcpu.setGpr(0, a); vcpu.setGpr(3, b); vcpu.setGpr(1, c); vcpu.setGpr(2, d);
        return;
      }
      case ExitReason.Msr: {
        const dir = v.getUint32(Exit.msrDir, true);
        if (dir & MSR_ASK) {
          const index = v.getUint32(Exit.msrIndex, true);
          if (this.filter === undefined || this.filter.allowsMsr(index)) {
            this.core.exports.grantMsr(vcpu.index);
          } else {
            this.refuse(vcpu, 'msr', `${dir & 1 ? 'RDMSR' : 'WRMSR'} 0x${index.toString(16)}`);
          }
          return;
        }
        // MSRs the core does not know: #GP, as a CPU without them would raise
        this.failInstruction(vcpu, 13, 0);
        return;
      }
      case ExitReason.Shutdown: this.crash(vcpu, 'shutdown'); return;
      case ExitReason.Error: this.crash(vcpu, 'error'); return;
      case ExitReason.FpuError: this.platform?.ferr?.(vcpu); return;
      default:
        throw new Error(`core returned unknown exit reason ${reason}`);
    }
  }

  /**
   * The policy refused the access that made this exit: count it, tell the
   * host, and apply the policy's action. With "exit-and-log" the access does
   * not happen (a read sees all ones, an RDMSR zero) and the guest goes on.
   */
  private refuse(vcpu: Vcpu, kind: AccessKind, detail: string): void {
    const v = this.view;
    switch (this.filter!.refused(kind, detail)) {
      case 'stop':
        this.requestStop({ kind: 'policy', vm: this.name, detail });
        return;
      case 'inject-gp':
        this.failInstruction(vcpu, 13, 0);
        return;
      case 'exit-and-log':
        if (kind === 'io' && v.getUint32(Exit.ioDir, true) === 1) {
          const size = v.getUint32(Exit.ioSize, true);
          v.setUint32(Exit.ioData, 0xffffffff >>> (32 - 8 * size), true);
          new Uint8Array(this.core.memory.buffer, IO_BUFFER, size * v.getUint32(Exit.ioCount, true)).fill(0xff);
        } else if (kind === 'mmio' && v.getUint32(Exit.mmioDir, true) === 1) {
          this.core.exports.completeMmioRead(vcpu.index, 0xffffffff);
        } else if (kind === 'msr' && (v.getUint32(Exit.msrDir, true) & 1)) {
          vcpu.setGpr(0, 0); vcpu.setGpr(2, 0);
        }
        return;
    }
  }

  /** The instruction that exited faults instead; a guest that cannot take the fault shuts down. */
  private failInstruction(vcpu: Vcpu, vector: number, code: number): void {
    this.core.exports.failInstruction(vcpu.index, vector, code);
    if (this.view.getUint32(Exit.reason, true) === ExitReason.Shutdown) this.crash(vcpu, 'shutdown');
  }

  /** INS/OUTS: `count` items through IO_BUFFER in one exit. */
  private handleStringIo(port: number, size: IoSize): void {
    const v = this.view;
    const count = v.getUint32(Exit.ioCount, true);
    const input = v.getUint32(Exit.ioDir, true) === 1;
    for (let i = 0; i < count; i++) {
      const at = IO_BUFFER + i * size;
      if (input) {
        const x = this.ports.read(port, size);
        if (size === 1) v.setUint8(at, x); else if (size === 2) v.setUint16(at, x, true); else v.setUint32(at, x >>> 0, true);
      } else {
        const x = size === 1 ? v.getUint8(at) : size === 2 ? v.getUint16(at, true) : v.getUint32(at, true);
        this.ports.write(port, size, x);
      }
    }
  }

  /** When `vcpu` can take an external interrupt now, ask the platform's controllers for one. */
  offerInterrupt(vcpu: Vcpu): void {
    if (!this.platform || vcpu.pendingInterrupt >= 0) return;
    if (!vcpu.interruptsEnabled) {
      // IF is clear: the core comes back (irq-window exit) at the first boundary that could take one
      vcpu.requestInterruptWindow(this.platform.interruptPending?.(vcpu) ?? false);
      return;
    }
    vcpu.requestInterruptWindow(false);
    const vector = this.platform.acknowledgeInterrupt(vcpu);
    if (vector >= 0) vcpu.injectInterrupt(vector);
  }

  /** A vCPU halted. Without an interrupt source that could wake it, the run ends. */
  protected handleHalt(vcpu: Vcpu): void {
    if (vcpu.pendingInterrupt >= 0 && vcpu.interruptsEnabled) { vcpu.halted = false; return; }
    if (vcpu.nmiPending && !vcpu.nmiBlocked) return; // taken at the next entry, which ends the halt
    // with other vCPUs running, a halted one waits for them (an IPI, INIT or their devices may wake it)
    if (this.vcpus.length > 1 && this.vcpus.some((v) => v !== vcpu && this.runnable(v))) return;
    // the core re-enters HLT until the platform's next event brings an interrupt
    if (vcpu.interruptsEnabled && this.platform?.idle(vcpu)) return;
    // under a hypervisor the vCPU waits; the VM ends when no vCPU could ever run again
    if (this.haltWaits && this.vcpus.some((v) => this.wakeable(v))) return;
    this.requestStop({ kind: 'halted', eip: vcpu.eip, interruptsEnabled: vcpu.interruptsEnabled, allVcpus: false });
  }

  /** A triple fault or a core error: what the core recorded about it. */
  private crash(vcpu: Vcpu, kind: 'shutdown' | 'error'): void {
    const v = this.view;
    if (kind === 'error') {
      this.requestStop({ kind, code: v.getUint32(Exit.detailError, true), eip: vcpu.eip });
      return;
    }
    const vector = v.getUint32(Exit.detailVector, true);
    const flags = v.getUint32(Exit.detailFlags, true);
    this.requestStop({
      kind,
      vector,
      errorCode: HAS_ERROR_CODE.has(vector) ? v.getUint32(Exit.detailError, true) : undefined,
      eip: v.getUint32(Exit.detailEip, true),
      opcode: flags & DetailFlag.HasOpcode ? v.getUint32(Exit.detailOpcode, true) : undefined,
      unimplemented: (flags & DetailFlag.Unimplemented) !== 0,
    });
  }

  /** Exits by reason name (for --stats). */
  exitStats(): Record<string, number> {
    const out: Record<string, number> = {};
    EXIT_REASON_NAMES.forEach((n, i) => { if (this.exitCounts[i]) out[n] = this.exitCounts[i]; });
    return out;
  }
}

/** Exceptions that push an error code. */
const HAS_ERROR_CODE = new Set([8, 10, 11, 12, 13, 14, 17]);

/** Whether a core module has the JIT (a core built before it has no `jit` export). */
function hasJit(module: WebAssembly.Module): boolean {
  return WebAssembly.Module.exports(module).some((e) => e.name === 'jit');
}


export { State };
