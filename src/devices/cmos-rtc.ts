// Motorola MC146818 real-time clock and CMOS RAM (ports 0x70/0x71). Port 0x70
// selects a register, its bit 7 masks NMI. Time registers in BCD or binary,
// 12/24-hour, status registers A-D, periodic, alarm and update-ended
// interrupts on IRQ 8, the SET bit, UIP for 244 us before each update.
// Time runs on the machine clock from a start time (fixed in virtual mode,
// so runs repeat exactly).
import type { PortDevice, IoSize } from '../vm/portbus.js';
import type { Clock, Timer } from '../platform/clock.js';
import { saveBytes, loadBytes, type SnapshotPart, type SavedBytes } from '../vm/snapshot-part.js';

export const CMOS_INDEX = 0x70;
export const CMOS_DATA = 0x71;

const REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c, REG_D = 0x0d;
const B_SET = 0x80, B_PIE = 0x40, B_AIE = 0x20, B_UIE = 0x10, B_BINARY = 0x04, B_24H = 0x02;
const C_IRQF = 0x80, C_PF = 0x40, C_AF = 0x20, C_UF = 0x10;
const UIP_NS = 244_000;
const SECOND = 1e9;
/** Time fields: register index of each. */
const SEC = 0, MIN = 2, HOUR = 4, WDAY = 6, DAY = 7, MONTH = 8, YEAR = 9, CENTURY = 0x32;

/** What CmosRtc saves in a snapshot. */
export interface CmosState {
  ram: SavedBytes;
  index: number;
  nmiMasked: boolean;
  baseMs: number;
  baseNs: number;
  frozenMs: number;
  nextUpdateMs: number;
}

export class CmosRtc implements PortDevice, SnapshotPart<CmosState> {
  readonly name = 'cmos';
  readonly ram = new Uint8Array(128);
  private index = 0;
  /** NMI masked by bit 7 of the last index write. */
  nmiMasked = false;
  /** Epoch milliseconds at machine time `baseNs`. */
  private baseMs: number;
  private baseNs = 0;
  /** While SET is on, the time stands still at this value. */
  private frozenMs = -1;
  private readonly periodic: Timer;
  private readonly update: Timer;

  constructor(private readonly clock: Clock, private readonly irq8: (level: boolean) => void, startMs: number) {
    this.baseMs = Math.floor(startMs / 1000) * 1000;
    this.ram[REG_A] = 0x26; // 32.768 kHz time base, 1024 Hz periodic rate
    this.ram[REG_B] = B_24H;
    this.ram[REG_D] = 0x80; // valid RAM and time
    this.periodic = clock.timer(() => this.onPeriodic());
    this.update = clock.timer(() => this.onUpdate());
    this.armUpdate();
  }

  readonly snapshotVersion = 1;
  saveState(): CmosState {
    return {
      ram: saveBytes(this.ram),
      index: this.index,
      nmiMasked: this.nmiMasked,
      baseMs: this.baseMs,
      baseNs: this.baseNs,
      frozenMs: this.frozenMs,
      nextUpdateMs: this.nextUpdateMs,
    };
  }
  loadState(s: CmosState): void {
    ({ index: this.index, nmiMasked: this.nmiMasked, baseMs: this.baseMs, baseNs: this.baseNs, frozenMs: this.frozenMs, nextUpdateMs: this.nextUpdateMs } = s);
    loadBytes(this.ram, s.ram);
  }

  /** Wall time the guest sees, in epoch ms. */
  private nowMs(): number {
    return this.frozenMs >= 0 ? this.frozenMs : this.baseMs + (this.clock.now() - this.baseNs) / 1e6;
  }

  read(port: number, _size: IoSize): number {
    if (port === CMOS_INDEX) return 0xff; // write-only on a PC
    const r = this.index;
    if (r <= YEAR || r === CENTURY) return this.timeField(r);
    if (r === REG_A) {
      const intoSecond = (this.nowMs() % 1000) * 1e6;
      const uip = !(this.ram[REG_B] & B_SET) && intoSecond >= SECOND - UIP_NS;
      return (this.ram[REG_A] & 0x7f) | (uip ? 0x80 : 0);
    }
    if (r === REG_C) { // reading C acknowledges every flag and drops IRQ 8
      const v = this.ram[REG_C];
      this.ram[REG_C] = 0;
      this.irq8(false);
      return v;
    }
    return this.ram[r];
  }

  write(port: number, _size: IoSize, value: number): void {
    const v = value & 0xff;
    if (port === CMOS_INDEX) { this.index = v & 0x7f; this.nmiMasked = (v & 0x80) !== 0; return; }
    const r = this.index;
    if (r <= YEAR || r === CENTURY) { this.setTimeField(r, v); return; }
    switch (r) {
      case REG_A: this.ram[REG_A] = v & 0x7f; this.armPeriodic(); return;
      case REG_B:
        if (v & B_SET && this.frozenMs < 0) this.frozenMs = this.nowMs();
        if (!(v & B_SET) && this.frozenMs >= 0) this.restart(this.frozenMs);
        this.ram[REG_B] = v & ~(v & B_SET ? B_UIE : 0); // SET clears UIE
        this.armPeriodic();
        this.raiseIfEnabled();
        return;
      case REG_C: case REG_D: return; // read-only
      default: this.ram[r] = v;
    }
  }

  private encode(v: number): number { return this.ram[REG_B] & B_BINARY ? v : ((v / 10) | 0) << 4 | v % 10; }
  private decode(v: number): number { return this.ram[REG_B] & B_BINARY ? v : (v >> 4) * 10 + (v & 15); }

  private timeField(r: number): number {
    if (r === 1 || r === 3 || r === 5) return this.ram[r]; // alarms are plain registers
    const d = new Date(this.nowMs());
    switch (r) {
      case SEC: return this.encode(d.getUTCSeconds());
      case MIN: return this.encode(d.getUTCMinutes());
      case HOUR: {
        const h = d.getUTCHours();
        if (this.ram[REG_B] & B_24H) return this.encode(h);
        return this.encode(h % 12 || 12) | (h >= 12 ? 0x80 : 0);
      }
      case WDAY: return this.encode(d.getUTCDay() + 1);
      case DAY: return this.encode(d.getUTCDate());
      case MONTH: return this.encode(d.getUTCMonth() + 1);
      case YEAR: return this.encode(d.getUTCFullYear() % 100);
      default: return this.encode(Math.floor(d.getUTCFullYear() / 100)); // century
    }
  }

  private setTimeField(r: number, v: number): void {
    if (r === 1 || r === 3 || r === 5) { this.ram[r] = v; return; }
    const d = new Date(this.nowMs());
    const x = this.decode(r === HOUR ? v & 0x7f : v);
    switch (r) {
      case SEC: d.setUTCSeconds(x); break;
      case MIN: d.setUTCMinutes(x); break;
      case HOUR: d.setUTCHours(this.ram[REG_B] & B_24H ? x : (x % 12) + (v & 0x80 ? 12 : 0)); break;
      case WDAY: return; // follows from the date
      case DAY: d.setUTCDate(x); break;
      case MONTH: d.setUTCMonth(x - 1); break;
      case YEAR: d.setUTCFullYear(Math.floor(d.getUTCFullYear() / 100) * 100 + x); break;
      default: d.setUTCFullYear(x * 100 + (d.getUTCFullYear() % 100));
    }
    if (this.frozenMs >= 0) this.frozenMs = d.getTime();
    else this.restart(d.getTime());
  }

  /** The time is `ms` from now on. */
  private restart(ms: number): void {
    this.frozenMs = -1;
    this.baseMs = ms;
    this.baseNs = this.clock.now();
    this.armUpdate();
  }

  /** Periodic interrupt rate from register A (rate 3..15: 8192 Hz .. 2 Hz). */
  private periodNs(): number {
    const rate = this.ram[REG_A] & 15;
    if (rate === 0) return 0;
    return (SECOND / 32768) * (1 << ((rate <= 2 ? rate + 7 : rate) - 1));
  }

  private armPeriodic(): void {
    const p = this.periodNs();
    if (!(this.ram[REG_B] & B_PIE) || p === 0) { this.periodic.cancel(); return; }
    this.periodic.arm((Math.floor(this.clock.now() / p) + 1) * p);
  }

  private onPeriodic(): void {
    this.flag(C_PF);
    this.armPeriodic();
  }

  /** The next update: the next whole second of RTC time (counted, so rounding never repeats one). */
  private nextUpdateMs = 0;
  private armUpdate(after = this.nowMs()): void {
    this.nextUpdateMs = (Math.floor(after / 1000) + 1) * 1000;
    this.update.arm(this.baseNs + (this.nextUpdateMs - this.baseMs) * 1e6);
  }

  private onUpdate(): void {
    if (!(this.ram[REG_B] & B_SET)) {
      this.flag(C_UF);
      const alarm = (r: number, now: number) => (this.ram[r] & 0xc0) === 0xc0 || this.ram[r] === now; // 11xxxxxx = don't care
      if (alarm(1, this.timeField(SEC)) && alarm(3, this.timeField(MIN)) && alarm(5, this.timeField(HOUR))) this.flag(C_AF);
    }
    this.armUpdate(this.nextUpdateMs);
  }

  private flag(bit: number): void {
    this.ram[REG_C] |= bit;
    this.raiseIfEnabled();
  }

  private raiseIfEnabled(): void {
    const enabled = (this.ram[REG_C] & (C_PF | C_AF | C_UF)) & ((this.ram[REG_B] & (B_PIE | B_AIE | B_UIE)));
    if (enabled && !(this.ram[REG_C] & C_IRQF)) {
      this.ram[REG_C] |= C_IRQF;
      this.irq8(true);
    }
  }
}
