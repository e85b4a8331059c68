// Intel 8254 programmable interval timer: three 16-bit counters at 1.193182 MHz
// (ports 0x40-0x42, control word at 0x43), modes 0-5, binary or BCD, counter
// latch and read-back commands. Counter 0's OUT drives IRQ 0; counter 2's gate
// and OUT are wired to port 0x61 (system control port B, with the speaker bit).
// Counts are computed from the machine clock when read, never ticked.
import type { PortDevice, IoSize } from '../vm/portbus.js';
import type { Clock, Timer } from '../platform/clock.js';
import type { SnapshotPart } from '../vm/snapshot-part.js';

export const PIT_BASE = 0x40;
export const PORT_B = 0x61;
export const PIT_HZ = 1_193_182;
const NS_PER_TICK = 1e9 / PIT_HZ;

const RW_LATCH = 0, RW_LSB = 1, RW_MSB = 2, RW_WORD = 3;

/** What Counter saves in a snapshot. */
export interface PitCounterState {
  mode: number;
  rw: number;
  bcd: boolean;
  reload: number;
  start: number;
  gate: boolean;
  frozen: number;
  latched: number[];
  status: number;
  nullCount: boolean;
  writeLow: number;
  readHigh: boolean;
}

class Counter {
  mode = 0;
  rw = RW_WORD;
  bcd = false;
  /** Initial count as written (0 = the maximum). */
  reload = 0;
  /** Tick the current count started from `reload`; -1 = no count written yet. */
  start = -1;
  gate: boolean;
  /** Count held while the gate stops counting (modes 0, 2, 3, 4). */
  frozen = -1;
  latched: number[] = [];
  status = -1;
  nullCount = true;
  private writeLow = -1;
  private readHigh = false;

  constructor(gate: boolean) { this.gate = gate; }

  saveState(): PitCounterState {
    return {
      mode: this.mode,
      rw: this.rw,
      bcd: this.bcd,
      reload: this.reload,
      start: this.start,
      gate: this.gate,
      frozen: this.frozen,
      latched: structuredClone(this.latched),
      status: this.status,
      nullCount: this.nullCount,
      writeLow: this.writeLow,
      readHigh: this.readHigh,
    };
  }
  loadState(s: PitCounterState): void {
    ({ mode: this.mode, rw: this.rw, bcd: this.bcd, reload: this.reload, start: this.start, gate: this.gate, frozen: this.frozen, status: this.status, nullCount: this.nullCount, writeLow: this.writeLow, readHigh: this.readHigh } = s);
    this.latched = structuredClone(s.latched);
  }

  /** Reload value as a count of ticks. */
  get period(): number {
    if (this.reload === 0) return this.bcd ? 10000 : 65536;
    return this.bcd ? fromBcd(this.reload) : this.reload;
  }

  /** Count and OUT at tick t. */
  state(t: number): { count: number; out: boolean } {
    if (this.start < 0) return { count: 0, out: this.mode !== 0 };
    const n = this.period;
    const e = this.frozen >= 0 ? this.frozen : t - this.start;
    switch (this.mode) {
      case 0: return { count: mod16(n - e, this.bcd), out: e >= n };
      case 1: return { count: mod16(n - e, this.bcd), out: e >= n };
      case 2: case 6: { const p = e % n; return { count: n - p, out: p !== n - 1 }; }
      case 3: case 7: {
        const p = e % n, high = Math.ceil(n / 2);
        return { count: p < high ? (n - 2 * p) & ~1 : (n - 2 * (p - high)) & ~1 || n, out: p < high };
      }
      default: return { count: mod16(n - e, this.bcd), out: e !== n }; // 4 and 5: a one-tick low strobe
    }
  }

  /** Tick after t at which OUT next rises, or Infinity. */
  nextRise(t: number): number {
    if (this.start < 0 || this.frozen >= 0) return Infinity;
    const n = this.period, e = t - this.start;
    switch (this.mode) {
      case 0: case 1: return e < n ? this.start + n : Infinity;
      case 2: case 3: case 6: case 7: return this.start + (Math.floor(e / n) + 1) * n;
      default: return e < n + 1 ? this.start + n + 1 : Infinity;
    }
  }

  private encode(v: number): number { return this.bcd ? toBcd(v) : v; }

  latchCount(t: number): void {
    if (this.latched.length) return; // a latched count stays until read
    const v = this.encode(this.state(t).count & 0xffff) & 0xffff;
    if (this.rw === RW_LSB) this.latched = [v & 0xff];
    else if (this.rw === RW_MSB) this.latched = [v >> 8];
    else this.latched = [v & 0xff, v >> 8];
  }

  latchStatus(t: number): void {
    if (this.status >= 0) return;
    this.status = (this.state(t).out ? 0x80 : 0) | (this.nullCount ? 0x40 : 0) | (this.rw << 4) | (this.mode << 1) | (this.bcd ? 1 : 0);
  }

  read(t: number): number {
    if (this.status >= 0) { const s = this.status; this.status = -1; return s; }
    if (this.latched.length) return this.latched.shift()!;
    const v = this.encode(this.state(t).count & 0xffff) & 0xffff;
    if (this.rw === RW_LSB) return v & 0xff;
    if (this.rw === RW_MSB) return v >> 8;
    this.readHigh = !this.readHigh;
    return this.readHigh ? v & 0xff : v >> 8;
  }

  /** A control word selected this counter's mode. */
  program(mode: number, rw: number, bcd: boolean): void {
    this.mode = mode; this.rw = rw; this.bcd = bcd;
    this.start = -1; this.frozen = -1; this.latched = []; this.status = -1;
    this.nullCount = true; this.writeLow = -1; this.readHigh = false;
  }

  /** A data byte written; true when a whole count was loaded. */
  write(v: number, t: number): boolean {
    if (this.rw === RW_LSB) this.reload = v;
    else if (this.rw === RW_MSB) this.reload = v << 8;
    else if (this.writeLow < 0) { this.writeLow = v; if (this.mode === 0) this.start = -1; return false; } // mode 0 stops on the first byte
    else { this.reload = this.writeLow | (v << 8); this.writeLow = -1; }
    this.nullCount = false;
    // modes 1 and 5 wait for a gate trigger
    if (this.mode !== 1 && this.mode !== 5) { this.start = t; this.frozen = -1; }
    if (!this.gate && (this.mode === 0 || this.mode === 4 || this.mode === 2 || this.mode === 3)) this.frozen = 0;
    return true;
  }

  setGate(level: boolean, t: number): void {
    if (level === this.gate) return;
    this.gate = level;
    if (level) {
      // a rising gate triggers modes 1, 5 and restarts 2, 3; 0 and 4 resume
      if (this.mode === 1 || this.mode === 5 || this.mode === 2 || this.mode === 3) {
        if (!this.nullCount) { this.start = t; this.frozen = -1; }
      } else if (this.frozen >= 0 && this.start >= 0) { this.start = t - this.frozen; this.frozen = -1; }
    } else if (this.start >= 0 && this.mode !== 1 && this.mode !== 5) {
      this.frozen = t - this.start;
    }
  }
}

function mod16(v: number, bcd: boolean): number { const m = bcd ? 10000 : 65536; return ((v % m) + m) % m; }
function fromBcd(v: number): number { return ((v >> 12) & 15) * 1000 + ((v >> 8) & 15) * 100 + ((v >> 4) & 15) * 10 + (v & 15); }
function toBcd(v: number): number { v %= 10000; return ((v / 1000) | 0) << 12 | (((v / 100) | 0) % 10) << 8 | (((v / 10) | 0) % 10) << 4 | v % 10; }

/** What Pit8254 saves in a snapshot. */
export interface PitState {
  counters: PitCounterState[];
  speaker: boolean;
  refresh: boolean;
  armedTick: number;
}

export class Pit8254 implements PortDevice, SnapshotPart<PitState> {
  readonly name = 'pit';
  // reading a count or port B's status is a function of the time: inline
  // (Linux polls port B ~140k times to time 30 ms against its PM timer)
  readonly timedReads = true;
  readonly counters = [new Counter(true), new Counter(true), new Counter(false)];
  private speaker = false;
  private refresh = false;
  private readonly timer: Timer;
  /** The PIT tick of the edge the timer is armed for (time in ns rounds; ticks do not). */
  private armedTick = -1;

  constructor(private readonly clock: Clock, private readonly irq0: (level: boolean) => void) {
    this.timer = clock.timer(() => this.onRise());
  }

  readonly snapshotVersion = 1;
  saveState(): PitState {
    return {
      counters: this.counters.map((x) => x.saveState()),
      speaker: this.speaker,
      refresh: this.refresh,
      armedTick: this.armedTick,
    };
  }
  loadState(s: PitState): void {
    ({ speaker: this.speaker, refresh: this.refresh, armedTick: this.armedTick } = s);
    this.counters.forEach((x, i) => x.loadState(s.counters[i]));
  }

  /** RESET: every counter unprogrammed, counter 2's gate and the speaker off. */
  reset(): void {
    for (const c of this.counters) c.program(0, RW_WORD, false);
    this.counters[2].gate = false;
    this.speaker = false;
    this.armedTick = -1;
    this.timer.cancel();
  }

  /** Machine time in PIT ticks. */
  private ticks(): number { return Math.floor(this.clock.now() / NS_PER_TICK); }

  private onRise(): void {
    this.irq0(true); // an edge: the controllers latch it
    this.irq0(false);
    this.armIrq0();
  }

  private armIrq0(): void {
    const next = this.counters[0].nextRise(Math.max(this.ticks(), this.armedTick));
    this.armedTick = next;
    if (next === Infinity) this.timer.cancel();
    else this.timer.arm(Math.ceil(next * NS_PER_TICK));
  }

  read(port: number, _size: IoSize): number {
    const t = this.ticks();
    if (port === PORT_B) {
      this.refresh = !this.refresh; // the refresh bit toggles; guests time short delays with it
      return (this.counters[2].state(t).out ? 0x20 : 0) | (this.refresh ? 0x10 : 0) | (this.speaker ? 2 : 0) | (this.counters[2].gate ? 1 : 0);
    }
    if (port === PIT_BASE + 3) return 0xff; // the control register is write-only
    return this.counters[port - PIT_BASE].read(t);
  }

  write(port: number, _size: IoSize, value: number): void {
    const t = this.ticks();
    const v = value & 0xff;
    if (port === PORT_B) {
      this.speaker = (v & 2) !== 0;
      this.counters[2].setGate((v & 1) !== 0, t);
      return;
    }
    if (port !== PIT_BASE + 3) {
      if (this.counters[port - PIT_BASE].write(v, t) && port === PIT_BASE) { this.armedTick = -1; this.armIrq0(); }
      return;
    }
    const sel = v >> 6;
    if (sel === 3) { // read-back: bit 5 = 0 latches counts, bit 4 = 0 latches status
      for (let i = 0; i < 3; i++) {
        if (!(v & (2 << i))) continue;
        if (!(v & 0x20)) this.counters[i].latchCount(t);
        if (!(v & 0x10)) this.counters[i].latchStatus(t);
      }
      return;
    }
    const rw = (v >> 4) & 3;
    const c = this.counters[sel];
    if (rw === RW_LATCH) { c.latchCount(t); return; }
    let mode = (v >> 1) & 7;
    if (mode > 5) mode -= 4; // 6 and 7 are aliases of 2 and 3
    c.program(mode, rw, (v & 1) !== 0);
    if (sel === 0) { this.irq0(false); this.armedTick = -1; this.armIrq0(); }
  }
}
