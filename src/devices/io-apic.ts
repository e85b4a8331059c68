// 82093AA I/O APIC (MMIO at 0xFEC00000): IOREGSEL at +0x00, IOWIN at +0x10;
// ID, version, arbitration, and 24 redirection entries that turn input pins
// into interrupt messages for the local APICs. Edge pins send on a rising
// edge; level pins send while asserted and not waiting for an EOI (remote IRR).
import type { MmioDevice } from '../vm/mmiobus.js';
import type { IoSize } from '../vm/portbus.js';
import { saveBytes, loadBytes, type SnapshotPart, type SavedBytes } from '../vm/snapshot-part.js';

export const IOAPIC_BASE = 0xfec00000;
export const IOAPIC_SIZE = 0x20;
export const IOAPIC_PINS = 24;
const VERSION = ((IOAPIC_PINS - 1) << 16) | 0x11;

const MASKED = 1 << 16, LEVEL = 1 << 15, REMOTE_IRR = 1 << 14, ACTIVE_LOW = 1 << 13;
/**
 * What a write to a redirection entry's low word keeps (82093AA datasheet, 3.2.4):
 * vector, delivery mode, destination mode (bits 0-11), polarity (13), trigger
 * mode (15) and mask (16); delivery status (12) and remote IRR (14) are the
 * I/O APIC's own, and bits 17-31 are reserved.
 */
const WRITABLE_LOW = 0x1afff;

/** A message from a redirection entry. */
export interface IoApicMessage {
  vector: number;
  /** 0 fixed, 1 lowest priority, 2 SMI, 4 NMI, 5 INIT, 7 ExtINT. */
  mode: number;
  logical: boolean;
  destination: number;
  level: boolean;
}

/** What IoApic saves in a snapshot. */
export interface IoApicState {
  id: number;
  select: number;
  low: SavedBytes;
  high: SavedBytes;
  pins: number;
}

export class IoApic implements MmioDevice, SnapshotPart<IoApicState> {
  readonly name = 'ioapic';
  id = 0;
  private select = 0;
  readonly low = new Uint32Array(IOAPIC_PINS).fill(MASKED);
  readonly high = new Uint32Array(IOAPIC_PINS);
  /** Input pin levels as driven by devices (active high). */
  private pins = 0;

  /** `deliver` sends a message to the local APICs. */
  constructor(private readonly deliver: (m: IoApicMessage) => void, id = 0) { this.id = id; }

  readonly snapshotVersion = 1;
  saveState(): IoApicState {
    return {
      id: this.id,
      select: this.select,
      low: saveBytes(this.low),
      high: saveBytes(this.high),
      pins: this.pins,
    };
  }
  loadState(s: IoApicState): void {
    ({ id: this.id, select: this.select, pins: this.pins } = s);
    loadBytes(this.low, s.low);
    loadBytes(this.high, s.high);
  }

  /** A device drives pin `n`. */
  setPin(n: number, level: boolean): void {
    const was = this.asserted(n);
    this.pins = level ? this.pins | (1 << n) : this.pins & ~(1 << n);
    const now = this.asserted(n);
    if (now && (this.low[n] & LEVEL || !was)) this.send(n);
  }

  private send(n: number): void {
    const entry = this.low[n];
    if (entry & MASKED) return; // a masked edge is lost; a masked level is sent when unmasked
    if (entry & LEVEL) {
      if (entry & REMOTE_IRR) return; // waiting for the EOI of the last one
      this.low[n] |= REMOTE_IRR;
    }
    this.deliver({
      vector: entry & 0xff, mode: (entry >> 8) & 7, logical: (entry & 0x800) !== 0,
      destination: this.high[n] >>> 24, level: (entry & LEVEL) !== 0,
    });
  }

  /** A local APIC retired level-triggered `vector`: lines still asserted send again. */
  eoi(vector: number): void {
    for (let n = 0; n < IOAPIC_PINS; n++) {
      if ((this.low[n] & 0xff) !== vector || !(this.low[n] & REMOTE_IRR)) continue;
      this.low[n] &= ~REMOTE_IRR;
      if (this.asserted(n)) this.send(n);
    }
  }

  private asserted(n: number): boolean {
    return ((this.pins >> n) & 1) === 1 !== ((this.low[n] & ACTIVE_LOW) !== 0);
  }

  read(offset: number, _size: IoSize): number {
    if (offset === 0) return this.select;
    if (offset !== 0x10) return 0;
    const r = this.select;
    if (r === 0) return this.id << 24;
    if (r === 1) return VERSION;
    if (r === 2) return this.id << 24; // arbitration ID
    const n = (r - 0x10) >> 1;
    if (r < 0x10 || n >= IOAPIC_PINS) return 0;
    return r & 1 ? this.high[n] : this.low[n];
  }

  write(offset: number, _size: IoSize, value: number): void {
    const v = value >>> 0;
    if (offset === 0) { this.select = v & 0xff; return; }
    if (offset !== 0x10) return;
    const r = this.select;
    if (r === 0) { this.id = (v >>> 24) & 0xf; return; }
    const n = (r - 0x10) >> 1;
    if (r < 0x10 || n >= IOAPIC_PINS) return;
    if (r & 1) { this.high[n] = v & 0xff000000; return; }
    const wasMasked = (this.low[n] & MASKED) !== 0;
    this.low[n] = (this.low[n] & REMOTE_IRR) | (v & WRITABLE_LOW);
    if (!(v & LEVEL)) this.low[n] &= ~REMOTE_IRR;
    // unmasking a level pin that is asserted sends it
    if (wasMasked && !(v & MASKED) && v & LEVEL && this.asserted(n)) this.send(n);
  }
}
