// Local APIC of one vCPU (xAPIC, MMIO at 0xFEE00000): ID, version, TPR/PPR,
// EOI, SVR, the 256-bit IRR/ISR/TMR, the LVT, the timer (one-shot and
// periodic, divide configuration) on a 1 GHz bus clock, and the ICR, which
// sends IPIs (fixed, NMI, INIT, startup) through the platform and always reads
// back idle.
import type { MmioDevice } from '../vm/mmiobus.js';
import type { IoSize } from '../vm/portbus.js';
import type { Clock, Timer } from '../platform/clock.js';
import { saveBytes, loadBytes, type SnapshotPart, type SavedBytes } from '../vm/snapshot-part.js';

export const LAPIC_BASE = 0xfee00000;
export const LAPIC_SIZE = 0x1000;
/** Version 0x14 (integrated APIC), 6 LVT entries (max LVT index 5). */
const VERSION = 0x00050014;
/** Timer ticks per nanosecond of machine time before the divider. */
const BUS_TICKS_PER_NS = 1;

const MASKED = 1 << 16;
const TIMER_PERIODIC = 1 << 17;
const LVT_TIMER = 0, LVT_LINT0 = 3, LVT_LINT1 = 4; // then thermal, perf counters, error
const LVT_OFFSETS = [0x320, 0x330, 0x340, 0x350, 0x360, 0x370]; // timer, thermal, perf, LINT0, LINT1, error
const LVT_WRITABLE = [0x300ff, 0x107ff, 0x107ff, 0x1a7ff, 0x1a7ff, 0x100ff];

/**
 * ICR low bits software writes (SDM vol. 3, 10.6.1): vector, delivery mode,
 * destination mode (0-11), level (14), trigger mode (15) and shorthand (18-19).
 * Delivery status (12) is read-only; the rest is reserved.
 */
const ICR_LOW_WRITABLE = 0xccfff;

/** An IPI the ICR sent: the platform delivers it. */
export interface Ipi {
  from: number;
  /** Delivery mode: 0 fixed, 1 lowest priority, 4 NMI, 5 INIT, 6 startup. */
  mode: number;
  vector: number;
  /** 0 = the destination field, 1 = self, 2 = all including self, 3 = all excluding self. */
  shorthand: number;
  destination: number;
  logical: boolean;
  /** INIT level de-assert (level=0, trigger=level): no effect on modern CPUs. */
  deassert: boolean;
}

/** What LocalApic saves in a snapshot. */
export interface LocalApicState {
  id: number;
  tpr: number;
  ldr: number;
  dfr: number;
  svr: number;
  esr: number;
  irr: SavedBytes;
  isr: SavedBytes;
  tmr: SavedBytes;
  lvt: SavedBytes;
  icrLow: number;
  icrHigh: number;
  initialCount: number;
  divideConfig: number;
  timerStart: number;
}

export class LocalApic implements MmioDevice, SnapshotPart<LocalApicState> {
  readonly name: string;
  id: number;
  tpr = 0;
  ldr = 0;
  dfr = 0xffffffff;
  svr = 0xff; // software-disabled, spurious vector 0xFF
  esr = 0;
  readonly irr = new Uint32Array(8);
  readonly isr = new Uint32Array(8);
  readonly tmr = new Uint32Array(8);
  readonly lvt = new Uint32Array(6).fill(MASKED);
  private icrLow = 0;
  private icrHigh = 0;
  private initialCount = 0;
  private divideConfig = 0;
  private timerStart = 0;
  private readonly timer: Timer;
  /** The platform delivers what the ICR sends. */
  sendIpi: (ipi: Ipi) => void = () => {};
  /** An EOI retired a level-triggered vector: the I/O APIC may deliver its line again. */
  onLevelEoi: (vector: number) => void = () => {};
  /** A vector entered the IRR (an IPI, the I/O APIC, the timer): the platform lets this CPU run soon. */
  onAccept: () => void = () => {};

  constructor(readonly index: number, private readonly clock: Clock) {
    this.id = index;
    this.name = `lapic${index}`;
    this.timer = clock.timer(() => this.onTimer());
  }

  readonly snapshotVersion = 1;
  saveState(): LocalApicState {
    return {
      id: this.id,
      tpr: this.tpr,
      ldr: this.ldr,
      dfr: this.dfr,
      svr: this.svr,
      esr: this.esr,
      irr: saveBytes(this.irr),
      isr: saveBytes(this.isr),
      tmr: saveBytes(this.tmr),
      lvt: saveBytes(this.lvt),
      icrLow: this.icrLow,
      icrHigh: this.icrHigh,
      initialCount: this.initialCount,
      divideConfig: this.divideConfig,
      timerStart: this.timerStart,
    };
  }
  loadState(s: LocalApicState): void {
    ({ id: this.id, tpr: this.tpr, ldr: this.ldr, dfr: this.dfr, svr: this.svr, esr: this.esr, icrLow: this.icrLow, icrHigh: this.icrHigh, initialCount: this.initialCount, divideConfig: this.divideConfig, timerStart: this.timerStart } = s);
    loadBytes(this.irr, s.irr);
    loadBytes(this.isr, s.isr);
    loadBytes(this.tmr, s.tmr);
    loadBytes(this.lvt, s.lvt);
  }

  get softwareEnabled(): boolean { return (this.svr & 0x100) !== 0; }

  /** Does the 8259's INTR reach this CPU (LINT0 unmasked, or the APIC disabled)? */
  acceptsExtInt(): boolean { return !this.softwareEnabled || !(this.lvt[LVT_LINT0] & MASKED); }

  /** A fixed interrupt arrived (from the I/O APIC, an IPI or the LVT). */
  accept(vector: number, level = false): void {
    if (vector < 16) { this.esr |= 0x40; return; } // illegal vector
    setBit(this.irr, vector, true);
    setBit(this.tmr, vector, level);
    this.onAccept();
  }

  private ppr(): number {
    const isrv = Math.max(0, highest(this.isr));
    return (this.tpr & 0xf0) >= (isrv & 0xf0) ? this.tpr & 0xff : isrv & 0xf0;
  }

  /** The vector the CPU would take now, or -1. */
  pending(): number {
    if (!this.softwareEnabled) return -1;
    const v = highest(this.irr);
    if (v < 0 || (v & 0xf0) <= (this.ppr() & 0xf0)) return -1;
    return v;
  }

  /** INTA: the pending vector moves to in-service. */
  acknowledge(): number {
    const v = this.pending();
    if (v < 0) return -1;
    setBit(this.irr, v, false);
    setBit(this.isr, v, true);
    return v;
  }

  private eoi(): void {
    const v = highest(this.isr);
    if (v < 0) return;
    setBit(this.isr, v, false);
    if (getBit(this.tmr, v)) this.onLevelEoi(v);
  }

  // ---- timer ----
  private get divisor(): number {
    const v = ((this.divideConfig & 8) >> 1) | (this.divideConfig & 3);
    return 1 << ((v + 1) & 7);
  }

  private ticksSinceStart(): number { return Math.floor((this.clock.now() - this.timerStart) * BUS_TICKS_PER_NS / this.divisor); }

  currentCount(): number {
    if (this.initialCount === 0) return 0;
    const t = this.ticksSinceStart();
    if (this.lvt[LVT_TIMER] & TIMER_PERIODIC) return this.initialCount - (t % this.initialCount);
    return t >= this.initialCount ? 0 : this.initialCount - t;
  }

  private armTimer(fromNs: number): void {
    this.timerStart = fromNs;
    if (this.initialCount === 0) { this.timer.cancel(); return; }
    this.timer.arm(fromNs + this.initialCount * this.divisor / BUS_TICKS_PER_NS);
  }

  private onTimer(): void {
    const entry = this.lvt[LVT_TIMER];
    if (!(entry & MASKED) && this.softwareEnabled) this.accept(entry & 0xff);
    if (entry & TIMER_PERIODIC) {
      // the next period starts where this one ended (no drift), unless far behind (wall clock)
      const period = this.initialCount * this.divisor / BUS_TICKS_PER_NS;
      const end = this.timerStart + period;
      this.armTimer(this.clock.now() - end > period ? this.clock.now() : end);
    }
  }

  // ---- registers ----
  read(offset: number, _size: IoSize): number {
    const r = offset & 0xff0;
    if (r >= 0x100 && r < 0x180) return this.isr[(r - 0x100) >> 4];
    if (r >= 0x180 && r < 0x200) return this.tmr[(r - 0x180) >> 4];
    if (r >= 0x200 && r < 0x280) return this.irr[(r - 0x200) >> 4];
    const lvt = LVT_OFFSETS.indexOf(r);
    if (lvt >= 0) return this.lvt[lvt];
    switch (r) {
      case 0x020: return this.id << 24;
      case 0x030: return VERSION;
      case 0x080: return this.tpr;
      case 0x090: return 0; // arbitration priority: not used by xAPIC software
      case 0x0a0: return this.ppr();
      case 0x0d0: return this.ldr;
      case 0x0e0: return this.dfr;
      case 0x0f0: return this.svr;
      case 0x280: return this.esr;
      case 0x300: return this.icrLow & ~(1 << 12); // delivery status: idle
      case 0x310: return this.icrHigh;
      case 0x380: return this.initialCount;
      case 0x390: return this.currentCount();
      case 0x3e0: return this.divideConfig;
      default: return 0;
    }
  }

  write(offset: number, _size: IoSize, value: number): void {
    const v = value >>> 0;
    const r = offset & 0xff0;
    const lvt = LVT_OFFSETS.indexOf(r);
    if (lvt >= 0) {
      // while software-disabled every LVT entry stays masked
      this.lvt[lvt] = (v & LVT_WRITABLE[lvt]) | (this.softwareEnabled ? 0 : MASKED);
      // a new timer mode or mask does not restart the count; a spent one-shot stays spent
      if (lvt === LVT_TIMER) { if (this.currentCount() > 0) this.armTimer(this.timerStart); else this.timer.cancel(); }
      return;
    }
    switch (r) {
      case 0x020: this.id = v >>> 24; return;
      case 0x080: this.tpr = v & 0xff; return;
      case 0x0b0: this.eoi(); return;
      case 0x0d0: this.ldr = v & 0xff000000; return;
      case 0x0e0: this.dfr = v | 0x0fffffff; return;
      case 0x0f0:
        this.svr = v & 0x3ff;
        if (!this.softwareEnabled) for (let i = 0; i < this.lvt.length; i++) this.lvt[i] |= MASKED;
        return;
      case 0x280: this.esr = 0; return; // a write clears the error status
      case 0x300: this.icrLow = v & ICR_LOW_WRITABLE; this.sendFromIcr(); return;
      case 0x310: this.icrHigh = v & 0xff000000; return;
      case 0x380: this.initialCount = v; this.armTimer(this.clock.now()); return;
      case 0x3e0: this.divideConfig = v & 0xb; return;
      default: return; // read-only or reserved
    }
  }

  private sendFromIcr(): void {
    const lo = this.icrLow;
    this.sendIpi({
      from: this.index,
      mode: (lo >> 8) & 7,
      vector: lo & 0xff,
      shorthand: (lo >> 18) & 3,
      destination: this.icrHigh >>> 24,
      logical: (lo & 0x800) !== 0,
      deassert: ((lo >> 8) & 7) === 5 && !(lo & 0x4000) && (lo & 0x8000) !== 0,
    });
  }

  /** Does a logical destination (flat or cluster model) name this APIC? */
  matchesLogical(dest: number): boolean {
    const mine = this.ldr >>> 24;
    if ((this.dfr >>> 28) === 0xf) return (mine & dest) !== 0;
    return (mine >> 4) === (dest >> 4) && (mine & dest & 0xf) !== 0;
  }

  /** Firmware set-up a BIOS does: LINT0 = ExtINT (virtual wire for the 8259), LINT1 = NMI. */
  virtualWire(): void {
    this.lvt[LVT_LINT0] = 0x700;
    this.lvt[LVT_LINT1] = 0x400;
  }

  /** Power-on state (RESET or INIT). */
  reset(): void {
    this.irr.fill(0); this.isr.fill(0); this.tmr.fill(0);
    this.lvt.fill(MASKED);
    this.tpr = 0; this.ldr = 0; this.dfr = 0xffffffff; this.svr = 0xff; this.esr = 0;
    this.icrLow = 0; this.icrHigh = 0; this.initialCount = 0; this.divideConfig = 0;
    this.timer.cancel();
  }
}

function setBit(a: Uint32Array, n: number, on: boolean): void {
  if (on) a[n >> 5] |= 1 << (n & 31); else a[n >> 5] &= ~(1 << (n & 31));
}
function getBit(a: Uint32Array, n: number): boolean { return (a[n >> 5] & (1 << (n & 31))) !== 0; }
/** Highest set bit of a 256-bit register, or -1. */
function highest(a: Uint32Array): number {
  for (let w = 7; w >= 0; w--) if (a[w]) return w * 32 + 31 - Math.clz32(a[w]);
  return -1;
}
