// IA-PC High Precision Event Timer (Intel's IA-PC HPET specification 1.0a) at
// 0xFED00000: a 64-bit main counter at 100 MHz (period 10 ns, the virtual CPU's
// instruction time, so it is deterministic in virtual mode) and three timers,
// each with a comparator, one-shot or periodic, edge or level, 32- or 64-bit.
// A timer interrupts on the I/O APIC input its route field names, or, in legacy
// replacement mode, timer 0 takes IRQ 0 and timer 1 IRQ 8 from the 8254 and
// the RTC. FSB (message) delivery is not offered (its capability bit is 0).
import type { MmioDevice } from '../vm/mmiobus.js';
import type { IoSize } from '../vm/portbus.js';
import type { Clock, Timer } from '../platform/clock.js';
import type { SnapshotPart } from '../vm/snapshot-part.js';

export const HPET_BASE = 0xfed00000;
export const HPET_SIZE = 0x400;
export const HPET_TIMERS = 3;
/** Counter period in femtoseconds (10 ns). */
export const HPET_PERIOD_FS = 10_000_000;
const NS_PER_TICK = HPET_PERIOD_FS / 1e6;
/** I/O APIC inputs a timer may be routed to (capability bits 63:32): 20-23, unused by ISA. */
export const HPET_ROUTES = 0x00f00000;

// general capabilities: revision 1, timers-1 in 12:8, 64-bit counter (13), legacy route capable (15), vendor 8086h
const CAPABILITIES_LOW = 0x80860001 | ((HPET_TIMERS - 1) << 8) | (1 << 13) | (1 << 15);
const CFG_ENABLE = 1, CFG_LEGACY = 2;
// timer configuration bits
const TN_LEVEL = 1 << 1, TN_INT_ENB = 1 << 2, TN_PERIODIC = 1 << 3, TN_PER_CAP = 1 << 4, TN_SIZE_CAP = 1 << 5;
const TN_VAL_SET = 1 << 6, TN_32MODE = 1 << 8, TN_ROUTE_SHIFT = 9, TN_ROUTE_MASK = 0x1f << 9;
const TN_WRITABLE = TN_LEVEL | TN_INT_ENB | TN_PERIODIC | TN_32MODE | TN_ROUTE_MASK;
const TWO32 = 2 ** 32;

/** What HpetTimer saves in a snapshot. */
export interface HpetTimerState {
  config: number;
  comparator: number;
  period: number;
  line: number;
  legacyLine: boolean;
}

class HpetTimer {
  config = TN_PER_CAP | TN_SIZE_CAP;
  comparator = Number.MAX_SAFE_INTEGER;
  period = 0;
  /** The line it last drove (ISA IRQ when `legacyLine`, else I/O APIC input); -1 when none. */
  line = -1;
  legacyLine = false;
  constructor(readonly timer: Timer) {}

  saveState(): HpetTimerState {
    return {
      config: this.config,
      comparator: this.comparator,
      period: this.period,
      line: this.line,
      legacyLine: this.legacyLine,
    };
  }
  loadState(s: HpetTimerState): void {
    ({ config: this.config, comparator: this.comparator, period: this.period, line: this.line, legacyLine: this.legacyLine } = s);
  }
  get wide(): boolean { return !(this.config & TN_32MODE); }
}

export interface HpetWiring {
  /** An ISA line (legacy replacement: to the 8259 and the I/O APIC as the PC wires it). */
  isa: (irq: number, level: boolean) => void;
  /** An I/O APIC input. */
  gsi: (pin: number, level: boolean) => void;
}

/** What Hpet saves in a snapshot. */
export interface HpetState {
  config: number;
  status: number;
  counterBase: number;
  startNs: number;
  timers: HpetTimerState[];
}

export class Hpet implements MmioDevice, SnapshotPart<HpetState> {
  readonly name = 'hpet';
  private config = 0;
  /** Level-triggered interrupt status, one bit per timer. */
  private status = 0;
  /** The counter's value at `startNs` (it counts from there while enabled). */
  private counterBase = 0;
  private startNs = 0;
  readonly timers: HpetTimer[];

  constructor(private readonly clock: Clock, private readonly wiring: HpetWiring) {
    this.timers = Array.from({ length: HPET_TIMERS }, (_, i) => new HpetTimer(clock.timer(() => this.fire(i))));
  }

  readonly snapshotVersion = 1;
  saveState(): HpetState {
    return {
      config: this.config,
      status: this.status,
      counterBase: this.counterBase,
      startNs: this.startNs,
      timers: this.timers.map((x) => x.saveState()),
    };
  }
  loadState(s: HpetState): void {
    ({ config: this.config, status: this.status, counterBase: this.counterBase, startNs: this.startNs } = s);
    this.timers.forEach((x, i) => x.loadState(s.timers[i]));
  }

  /** RESET: halted, counter 0, every timer back to its power-on configuration and disarmed. */
  reset(): void {
    for (const t of this.timers) { this.drive(t, false); t.config = TN_PER_CAP | TN_SIZE_CAP; t.comparator = Number.MAX_SAFE_INTEGER; t.period = 0; t.timer.cancel(); }
    this.config = 0; this.status = 0; this.counterBase = 0; this.startNs = 0;
  }

  /** Legacy replacement: the 8254's IRQ 0 and the RTC's IRQ 8 are disconnected. */
  get legacyRouting(): boolean { return (this.config & CFG_LEGACY) !== 0; }

  get enabled(): boolean { return (this.config & CFG_ENABLE) !== 0; }

  /** The main counter now. */
  counter(): number {
    if (!this.enabled) return this.counterBase;
    return this.counterBase + Math.floor((this.clock.now() - this.startNs) / NS_PER_TICK);
  }

  read(offset: number, size: IoSize): number {
    const dword = this.readDword(offset & ~3);
    const shift = (offset & 3) * 8;
    return size === 4 ? dword >>> 0 : (dword >>> shift) & (size === 2 ? 0xffff : 0xff);
  }

  write(offset: number, size: IoSize, value: number): void {
    const at = offset & ~3;
    let v = value >>> 0;
    if (size !== 4) {
      const shift = (offset & 3) * 8;
      const mask = (size === 2 ? 0xffff : 0xff) << shift;
      v = ((this.readDword(at) & ~mask) | ((value << shift) & mask)) >>> 0;
    }
    this.writeDword(at, v);
  }

  private readDword(at: number): number {
    const high = (at & 4) !== 0;
    if (at < 0x100) {
      switch (at & ~7) {
        case 0x000: return high ? HPET_PERIOD_FS : CAPABILITIES_LOW;
        case 0x010: return high ? 0 : this.config;
        case 0x020: return high ? 0 : this.status;
        case 0x0f0: return split(this.counter(), high);
        default: return 0;
      }
    }
    const t = this.timerAt(at);
    if (!t) return 0;
    switch (at & 0x18) {
      case 0x00: return high ? HPET_ROUTES : t.config;
      case 0x08: return t.wide ? split(t.comparator, high) : high ? 0 : t.comparator % TWO32;
      default: return 0; // FSB route: not offered
    }
  }

  private writeDword(at: number, v: number): void {
    const high = (at & 4) !== 0;
    if (at < 0x100) {
      switch (at) {
        case 0x010: this.setConfig(v); return;
        case 0x020: this.clearStatus(v); return;
        case 0x0f0: case 0x0f4:
          // the main counter is writable only while halted (spec 2.3.4)
          if (!this.enabled) this.counterBase = join(this.counterBase, v, high);
          this.rearm();
          return;
        default: return; // capabilities: read-only
      }
    }
    const t = this.timerAt(at);
    if (!t) return;
    switch (at & 0x1c) {
      case 0x00: {
        const wasLevel = t.config & TN_LEVEL;
        t.config = (t.config & ~TN_WRITABLE & ~TN_VAL_SET) | (v & (TN_WRITABLE | TN_VAL_SET));
        if (t.config & TN_32MODE) t.comparator %= TWO32;
        if (wasLevel && !(t.config & TN_LEVEL)) this.clearStatus(1 << this.timers.indexOf(t));
        break;
      }
      case 0x08: case 0x0c: {
        const value = t.wide ? join(t.comparator, v, high) : high ? t.comparator : v;
        // periodic: a write sets the period, and the comparator too while VAL_SET is on (spec 2.3.9.2.2)
        if (!(t.config & TN_PERIODIC) || t.config & TN_VAL_SET) t.comparator = value;
        if (t.config & TN_PERIODIC) t.period = t.wide ? join(t.period, v, high) : v;
        if (high || !t.wide) t.config &= ~TN_VAL_SET; // a 64-bit value is written low half, then high half
        break;
      }
      default: return;
    }
    this.rearm();
  }

  private timerAt(at: number): HpetTimer | undefined {
    const i = (at - 0x100) >> 5;
    return i < HPET_TIMERS ? this.timers[i] : undefined;
  }

  private setConfig(v: number): void {
    const now = this.counter();
    const wasLegacy = this.legacyRouting;
    this.config = v & (CFG_ENABLE | CFG_LEGACY);
    this.counterBase = now;
    this.startNs = this.clock.now();
    if (wasLegacy !== this.legacyRouting) this.timers.forEach((t) => this.drive(t, false));
    this.rearm();
  }

  private clearStatus(bits: number): void {
    this.timers.forEach((t, i) => {
      if (bits & this.status & (1 << i)) { this.status &= ~(1 << i); this.drive(t, false); }
    });
  }

  /** Arm each timer for its next comparator match (none while halted or its interrupt is off). */
  private rearm(): void {
    const now = this.counter();
    for (const t of this.timers) {
      const ticks = this.enabled && t.config & TN_INT_ENB ? this.ticksToMatch(t, now) : Infinity;
      if (ticks === Infinity) t.timer.cancel();
      else t.timer.arm(this.startNs + (now + ticks - this.counterBase) * NS_PER_TICK);
    }
  }

  /** Ticks from `now` until the counter next equals the comparator (in 32-bit mode: its low half). */
  private ticksToMatch(t: HpetTimer, now: number): number {
    if (t.wide) return t.comparator > now ? t.comparator - now : Infinity;
    const d = (t.comparator - (now % TWO32) + TWO32) % TWO32;
    return d === 0 ? TWO32 : d;
  }

  private fire(i: number): void {
    const t = this.timers[i];
    if (t.config & TN_PERIODIC && t.period > 0) {
      // the comparator steps by the period past the counter (a late check skips missed periods)
      const now = this.counter();
      while (t.comparator <= now) t.comparator += t.period;
      if (!t.wide) t.comparator %= TWO32;
    }
    if (t.config & TN_LEVEL) {
      this.status |= 1 << i;
      this.drive(t, true);
    } else {
      this.drive(t, true);
      this.drive(t, false);
    }
    this.rearm();
  }

  /** Drive timer `t`'s interrupt line: legacy replacement for timers 0 and 1, else its route. */
  private drive(t: HpetTimer, level: boolean): void {
    const i = this.timers.indexOf(t);
    if (level) {
      t.legacyLine = this.legacyRouting && i < 2;
      t.line = t.legacyLine ? (i === 0 ? 0 : 8) : (t.config & TN_ROUTE_MASK) >> TN_ROUTE_SHIFT;
      if (!t.legacyLine && !(HPET_ROUTES & (1 << t.line))) { t.line = -1; return; } // a route not offered goes nowhere
    }
    if (t.line < 0) return;
    if (t.legacyLine) this.wiring.isa(t.line, level);
    else this.wiring.gsi(t.line, level);
    if (!level) t.line = -1;
  }
}

/** The low or high 32 bits of a counter value (below 2^53). */
function split(v: number, high: boolean): number {
  return high ? Math.floor(v / TWO32) >>> 0 : v % TWO32;
}

function join(old: number, half: number, high: boolean): number {
  return high ? (half >>> 0) * TWO32 + (old % TWO32) : Math.floor(old / TWO32) * TWO32 + (half >>> 0);
}
