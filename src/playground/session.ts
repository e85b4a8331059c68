// What the playground runs and shows, without the DOM: one guest (a multiboot
// kernel on the plain machine, as `trapeze run` boots it, or a disk image on
// the PC, as `trapeze run --disk`), driven in budgeted slices so the thread
// that runs it stays free for messages; its exits as they happen, the vCPU,
// the shadow page table as the core's MMU events build it, and the counters
// `--stats` prints. A second mode runs several VMs under the hypervisor's
// scheduler by shares. It runs in a worker (src/playground/worker.ts) and in
// Node tests alike.
import { createMachine, bootMultiboot, type Machine } from '../machine.js';
import { Pc } from '../platform/pc.js';
import { host } from '../host/platform.js';
import type { Vm, StopInfo } from '../vm/vm.js';
import { Exit, EXIT_REASON_NAMES, ExitReason, COUNTER_NAMES, type CounterName } from '../core/layout.js';
import { GPR_NAMES, SEG_NAMES, type SegmentCache } from '../vm/vcpu.js';
import { traceMmu, type MmuEvent, type ShadowEntry } from '../mmu/trace.js';
import { readLinear } from '../trace/linear.js';
import { Scheduler, SchedEntity, jainIndex } from '../hypervisor/scheduler.js';

export interface GuestSpec {
  /** A file the host holds: a multiboot kernel, or a disk image (boot signature in sector 0) booted on the PC. */
  file: string;
  cmdline?: string;
  memoryMiB?: number;
}

export interface ExitRecord {
  seq: number;
  reason: string;
  /** Port, MMIO address, CPUID leaf or MSR index; -1 when the exit has none. */
  where: number;
  /** The value written or read (I/O, MMIO), -1 when none. */
  value: number;
  /** 'in'/'out'/'read'/'write' for I/O and MMIO. */
  dir: string;
  eip: number;
  /** Host time handling the exit (performance.now(): its resolution is the browser's). */
  hostNs: number;
}

export interface ShadowRow {
  lin: number;
  /** The guest's PTE (or PDE for a large page) the fill read. */
  guest: number;
  shadow: ShadowEntry;
  /** Sequence number of the MMU event that last changed it. */
  seq: number;
}

export interface CpuView {
  gprs: Record<string, number>;
  eip: number;
  eflags: number;
  cr0: number; cr2: number; cr3: number; cr4: number;
  segments: Record<string, SegmentCache>;
  halted: boolean;
  instructions: number;
}

const LOG_SIZE = 200;
const RECENT_MMU = 64;

export class Session {
  readonly vm: Vm;
  readonly pc: Pc | undefined;
  readonly machine: Machine | undefined;
  serial = '';
  stop: StopInfo | undefined;
  /** Exits by reason, and host ns spent on them. */
  readonly exitNs = new Float64Array(EXIT_REASON_NAMES.length);
  /** The last LOG_SIZE exits, oldest first. */
  readonly log: ExitRecord[] = [];
  private seq = 0;
  /** Shadow entries by linear page, as fills and drops report them. */
  readonly shadow = new Map<number, ShadowRow>();
  /** The latest MMU events (for highlighting), newest last. */
  readonly mmuEvents: (MmuEvent & { seq: number })[] = [];
  mmuSeq = 0;
  private typed: number[] = [];

  constructor(readonly spec: GuestSpec) {
    const memoryMiB = spec.memoryMiB ?? 32;
    const serial = (b: number) => { this.serial += String.fromCharCode(b); if (this.serial.length > 1 << 20) this.serial = this.serial.slice(-(1 << 19)); };
    if (isDiskImage(host().files.read(spec.file))) {
      this.pc = new Pc({ memoryMiB, serial, disks: host().openDiskImages([spec.file], true), input: this.keyboard() });
      this.vm = this.pc.vm;
      this.pc.bootDisk();
    } else {
      this.machine = createMachine({ memoryMiB, serial });
      this.vm = this.machine.vm;
      bootMultiboot(this.machine, spec.file, spec.cmdline ?? '');
    }
    this.watchExits();
    traceMmu(this.vm, (ev) => this.mmu(ev));
    this.vm.start();
  }

  /** COM1 input the page types: bytes handed over as the guest reads them. */
  private keyboard() {
    return { take: (max: number) => { const out = Uint8Array.from(this.typed.splice(0, max)); return out; }, ended: false, close() {} };
  }
  type(text: string): void { for (const c of text) this.typed.push(c.charCodeAt(0) & 0xff); }

  /** Observe the VM's exits: each exit is counted, timed and logged. */
  private watchExits(): void {
    const vm = this.vm;
    const view = vm.core.view;
    let rec: ExitRecord | undefined;
    let t = 0;
    vm.observeExits({
      beforeExit: (_vcpu, reason) => { rec = this.describe(reason, view); t = performance.now(); },
      afterExit: (_vcpu, reason) => this.logExit(rec!, reason, (performance.now() - t) * 1e6, view),
    });
  }

  /** After the exit was handled: its host time, and the value an IN or MMIO read got. */
  private logExit(rec: ExitRecord, reason: number, ns: number, view: DataView): void {
    this.exitNs[reason] += ns;
    if (rec.dir === 'in') rec.value = view.getUint32(Exit.ioData, true) >>> 0;
    if (rec.dir === 'read') rec.value = view.getUint32(Exit.mmioData, true) >>> 0;
    rec.hostNs = ns;
    this.log.push(rec);
    if (this.log.length > LOG_SIZE) this.log.shift();
  }

  private describe(reason: number, v: DataView): ExitRecord {
    const u = (o: number) => v.getUint32(o, true) >>> 0;
    const rec: ExitRecord = { seq: ++this.seq, reason: EXIT_REASON_NAMES[reason] ?? String(reason), where: -1, value: -1, dir: '', eip: this.vm.vcpus[0].eip, hostNs: 0 };
    switch (reason) {
      case ExitReason.Io:
        rec.where = u(Exit.ioPort); rec.dir = u(Exit.ioDir) === 1 ? 'in' : 'out';
        if (rec.dir === 'out') rec.value = u(Exit.ioData) & (0xffffffff >>> (32 - 8 * u(Exit.ioSize)));
        rec.eip = u(Exit.insnEip);
        break;
      case ExitReason.Mmio:
        rec.where = u(Exit.mmioAddr); rec.dir = u(Exit.mmioDir) === 1 ? 'read' : 'write';
        if (rec.dir === 'write') rec.value = u(Exit.mmioData);
        rec.eip = u(Exit.insnEip);
        break;
      case ExitReason.Cpuid: rec.where = u(Exit.cpuidLeaf); rec.eip = u(Exit.insnEip); break;
      case ExitReason.Msr: rec.where = u(Exit.msrIndex); rec.eip = u(Exit.insnEip); break;
    }
    return rec;
  }

  private mmu(ev: MmuEvent): void {
    const seq = ++this.mmuSeq;
    switch (ev.kind) {
      case 'fill': this.shadow.set(ev.lin >>> 12, { lin: ev.lin & ~0xfff, guest: ev.entry, shadow: ev.shadow, seq }); break;
      case 'drop': this.shadow.delete(ev.lin >>> 12); break;
      case 'flush':
        // global entries (G set in the guest's entry) survive a CR3 flush when CR4.PGE is on
        for (const [k, row] of this.shadow) if (!(ev.globalsKept > 0 && row.guest & 0x100)) this.shadow.delete(k);
        break;
    }
    this.mmuEvents.push({ ...ev, seq });
    if (this.mmuEvents.length > RECENT_MMU) this.mmuEvents.shift();
  }

  get running(): boolean { return !this.stop; }

  /** Run for about `ms` of host time, or `maxInstructions`; returns the instructions retired. */
  run(ms: number, maxInstructions = Infinity): number {
    if (this.stop) return 0;
    const vm = this.vm;
    const end = performance.now() + ms;
    let done = 0;
    const slice = 200_000;
    do {
      done += this.vm.vcpus.length > 1 ? this.smpSlice(Math.min(slice, maxInstructions - done)) : vm.runSlice(vm.vcpus[0], Math.min(slice, maxInstructions - done));
      if (vm.stopped) { this.stop = vm.stopped; vm.finish(); break; }
    } while (done < maxInstructions && performance.now() < end);
    return done;
  }

  private smpSlice(budget: number): number {
    const v = this.vm.vcpus.find((c) => this.vm.runnable(c)) ?? this.vm.vcpus[0];
    return this.vm.runSlice(v, budget);
  }

  /** One instruction (or one exit's worth of work). */
  step(): number { return this.run(Infinity, 1); }

  cpu(): CpuView {
    const c = this.vm.vcpus[0];
    const gprs: Record<string, number> = {};
    GPR_NAMES.forEach((n, i) => { gprs[n] = c.gpr(i); });
    const segments: Record<string, SegmentCache> = {};
    for (const s of SEG_NAMES) segments[s] = c.segment(s);
    return {
      gprs, eip: c.eip, eflags: c.eflags, cr0: c.get('cr0'), cr2: c.get('cr2'), cr3: c.get('cr3'), cr4: c.get('cr4'),
      segments, halted: c.halted, instructions: c.instructionsRetired,
    };
  }

  counters(): Record<CounterName, number> { return this.vm.vcpus[0].counters(); }

  exitCounts(): Record<string, { count: number; hostNs: number }> {
    const out: Record<string, { count: number; hostNs: number }> = {};
    EXIT_REASON_NAMES.forEach((n, i) => { if (this.vm.exitCounts[i]) out[n] = { count: this.vm.exitCounts[i], hostNs: this.exitNs[i] }; });
    return out;
  }

  /** The guest's page directory entries that are present: index → entry. */
  pageDirectory(): [number, number][] {
    const c = this.vm.vcpus[0];
    if (!(c.get('cr0') & 0x80000000)) return [];
    const pd = (c.get('cr3') & ~0xfff) >>> 0;
    const out: [number, number][] = [];
    for (let i = 0; i < 1024; i++) {
      if (pd + i * 4 + 4 > this.vm.ramBytes) break;
      const e = this.vm.readPhys32(pd + i * 4) >>> 0;
      if (e & 1) out.push([i, e]);
    }
    return out;
  }

  /** The guest's PTE for `lin` now (0 when its table is not present). */
  guestPte(lin: number): number {
    const c = this.vm.vcpus[0];
    const pde = this.vm.readPhys32(((c.get('cr3') & ~0xfff) >>> 0) + (lin >>> 22) * 4) >>> 0;
    if (!(pde & 1)) return 0;
    if (pde & 0x80 && c.get('cr4') & 0x10) return pde;
    const at = ((pde & ~0xfff) >>> 0) + ((lin >>> 12) & 0x3ff) * 4;
    return at + 4 <= this.vm.ramBytes ? this.vm.readPhys32(at) >>> 0 : 0;
  }

  /** Up to 15 bytes of code at `eip` (CS base added), as the guest maps them now. */
  codeAt(eip: number): { bytes: Uint8Array; bitness: 16 | 32; lin: number } {
    const c = this.vm.vcpus[0];
    const cs = c.segment('cs');
    const lin = (cs.base + eip) >>> 0;
    return { bytes: readLinear(this.vm, lin, 15), bitness: cs.attr & 0x4000 ? 32 : 16, lin };
  }

  screen(): string[] | undefined { return this.pc?.cga.lines(); }
}

export const COUNTERS: readonly CounterName[] = COUNTER_NAMES;

/** A PC disk image (whole sectors, a boot signature in sector 0) rather than a multiboot kernel (ELF, or an a.out kludge). */
export function isDiskImage(bytes: Uint8Array): boolean {
  const elf = bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
  return !elf && bytes.length >= 512 && bytes.length % 512 === 0 && bytes[510] === 0x55 && bytes[511] === 0xaa;
}

// ---- several VMs under the scheduler ----

export interface ShareVm { name: string; file: string; cmdline: string; shares: number; memoryMiB?: number }

export interface ShareView {
  vms: { name: string; shares: number; received: number; entitled: number; instructions: number }[];
  jain: number;
  elapsed: number;
}

/** Several guests on one core, scheduled by shares (src/hypervisor/scheduler.ts), cost = instructions. */
export class Shares {
  readonly scheduler = new Scheduler({ sliceInstructions: 100_000 });
  readonly serial = new Map<string, string>();
  readonly jainHistory: number[] = [];

  constructor(readonly specs: ShareVm[]) {
    for (const s of specs) {
      this.serial.set(s.name, '');
      const m = createMachine({ name: s.name, memoryMiB: s.memoryMiB ?? 16, haltWaits: true, serial: (b) => this.serial.set(s.name, (this.serial.get(s.name)! + String.fromCharCode(b)).slice(-4096)) });
      bootMultiboot(m, s.file, s.cmdline);
      m.vm.start();
      this.scheduler.add(new SchedEntity(m.vm, s.shares, undefined));
    }
  }

  /** Scheduler steps for about `ms` of host time. */
  run(ms: number): void {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      const r = this.scheduler.step();
      if (r.kind !== 'ran') break;
    }
    this.jainHistory.push(this.view().jain);
    if (this.jainHistory.length > 120) this.jainHistory.shift();
  }

  view(): ShareView {
    const es = this.scheduler.entities;
    return {
      vms: es.map((e) => ({ name: e.vm.name, shares: e.shares, received: e.received, entitled: e.entitled, instructions: e.vm.instructionsRetired })),
      jain: jainIndex(es.filter((e) => e.entitled > 0).map((e) => e.received / e.entitled)),
      elapsed: this.scheduler.elapsed,
    };
  }
}
