// Intel 8259A programmable interrupt controllers, the PC's cascaded pair:
// master at 0x20/0x21 (IRQ 0-7), slave at 0xA0/0xA1 (IRQ 8-15) on master IR2,
// plus the edge/level control registers at 0x4D0/0x4D1 (ELCR, as on PIIX).
// Per the datasheet: ICW1-4 initialization, OCW1 mask, OCW2 EOI/rotation,
// OCW3 IRR/ISR read, poll and special mask; fully nested priority with rotation.
import type { PortDevice, IoSize } from '../vm/portbus.js';
import type { SnapshotPart } from '../vm/snapshot-part.js';

export const PIC_MASTER = 0x20;
export const PIC_SLAVE = 0xa0;
export const ELCR = 0x4d0;
const CASCADE_IR = 2;

/** What Pic8259 saves in a snapshot. */
export interface Pic8259State {
  irr: number;
  isr: number;
  imr: number;
  vectorBase: number;
  levelMask: number;
  lines: number;
  lowestPriority: number;
  initStep: number;
  needIcw4: boolean;
  single: boolean;
  autoEoi: boolean;
  rotateOnAutoEoi: boolean;
  specialMask: boolean;
  readIsr: boolean;
  pollNext: boolean;
  ltim: boolean;
}

/** One 8259A. */
export class Pic8259 {
  irr = 0;
  isr = 0;
  imr = 0;
  /** Vector of IR0 (ICW2, low 3 bits zero). */
  vectorBase = 0;
  /** IR lines that are level-triggered (LTIM of ICW1 sets all; the ELCR sets each). */
  levelMask = 0;
  private lines = 0;
  private lowestPriority = 7; // IR with the lowest priority (rotation moves it)
  private initStep = 0;       // 0 = operational; 2..4 = the ICW expected next
  private needIcw4 = false;
  private single = false;
  private autoEoi = false;
  private rotateOnAutoEoi = false;
  private specialMask = false;
  private readIsr = false;
  private pollNext = false;
  private ltim = false;

  saveState(): Pic8259State {
    return {
      irr: this.irr,
      isr: this.isr,
      imr: this.imr,
      vectorBase: this.vectorBase,
      levelMask: this.levelMask,
      lines: this.lines,
      lowestPriority: this.lowestPriority,
      initStep: this.initStep,
      needIcw4: this.needIcw4,
      single: this.single,
      autoEoi: this.autoEoi,
      rotateOnAutoEoi: this.rotateOnAutoEoi,
      specialMask: this.specialMask,
      readIsr: this.readIsr,
      pollNext: this.pollNext,
      ltim: this.ltim,
    };
  }
  loadState(s: Pic8259State): void {
    ({ irr: this.irr, isr: this.isr, imr: this.imr, vectorBase: this.vectorBase, levelMask: this.levelMask, lines: this.lines, lowestPriority: this.lowestPriority, initStep: this.initStep, needIcw4: this.needIcw4, single: this.single, autoEoi: this.autoEoi, rotateOnAutoEoi: this.rotateOnAutoEoi, specialMask: this.specialMask, readIsr: this.readIsr, pollNext: this.pollNext, ltim: this.ltim } = s);
  }

  /** Drive IR `n` to `level`. Edge mode latches a rising edge; level mode follows the line. */
  setLine(n: number, level: boolean): void {
    const bit = 1 << n;
    if (level) {
      if ((this.levelMask & bit) || !(this.lines & bit)) this.irr |= bit;
      this.lines |= bit;
    } else {
      this.lines &= ~bit;
      if (this.levelMask & bit) this.irr &= ~bit;
    }
  }

  /** Priority rank of IR n: 0 = highest. */
  private rank(n: number): number { return (n - this.lowestPriority - 1) & 7; }

  /** Highest-priority IR set in `bits`, or -1. */
  private highest(bits: number): number {
    for (let r = 0; r < 8; r++) {
      const n = (r + this.lowestPriority + 1) & 7;
      if (bits & (1 << n)) return n;
    }
    return -1;
  }

  /** The IR this chip would interrupt for now, or -1 (the INT output). */
  pending(): number {
    const req = this.irr & ~this.imr;
    const n = this.highest(req);
    if (n < 0) return -1;
    // fully nested: only a request of higher priority than every in-service one
    // (special mask mode: masked in-service levels do not block)
    const blocking = this.specialMask ? this.isr & ~this.imr : this.isr;
    const s = this.highest(blocking);
    if (s >= 0 && this.rank(s) <= this.rank(n)) return -1;
    return n;
  }

  /** INTA: the IR being acknowledged moves from IRR to ISR; returns it (7 = spurious). */
  acknowledge(): number {
    const n = this.pending();
    if (n < 0) return 7; // spurious: IR7, ISR untouched
    const bit = 1 << n;
    if (!(this.levelMask & bit)) this.irr &= ~bit;
    if (this.autoEoi) {
      if (this.rotateOnAutoEoi) this.lowestPriority = n;
    } else {
      this.isr |= bit;
    }
    return n;
  }

  read(a0: number): number {
    if (this.pollNext) {
      this.pollNext = false;
      const n = this.pending();
      if (n < 0) return 0;
      this.acknowledge();
      return 0x80 | n;
    }
    if (a0) return this.imr;
    return this.readIsr ? this.isr : this.irr;
  }

  write(a0: number, v: number): void {
    if (!a0) {
      if (v & 0x10) this.icw1(v);
      else if (v & 0x08) this.ocw3(v);
      else this.ocw2(v);
      return;
    }
    switch (this.initStep) {
      case 2:
        this.vectorBase = v & 0xf8;
        this.initStep = this.single ? (this.needIcw4 ? 4 : 0) : 3;
        return;
      case 3: // ICW3: cascade wiring, fixed on a PC
        this.initStep = this.needIcw4 ? 4 : 0;
        return;
      case 4:
        this.autoEoi = (v & 2) !== 0;
        this.initStep = 0;
        return;
      default:
        this.imr = v; // OCW1
    }
  }

  private icw1(v: number): void {
    this.needIcw4 = (v & 1) !== 0;
    this.single = (v & 2) !== 0;
    this.ltim = (v & 8) !== 0;
    if (this.ltim) this.levelMask = 0xff;
    this.initStep = 2;
    // the datasheet's initialization: mask cleared, IR7 lowest, special mask off, IRR selected
    this.imr = 0;
    this.isr = 0;
    this.irr &= this.levelMask & this.lines;
    this.lowestPriority = 7;
    this.specialMask = false;
    this.readIsr = false;
    this.autoEoi = false;
    this.rotateOnAutoEoi = false;
  }

  private ocw2(v: number): void {
    const cmd = v >> 5;
    const level = v & 7;
    switch (cmd) {
      case 0: this.rotateOnAutoEoi = false; return;
      case 4: this.rotateOnAutoEoi = true; return;
      case 1: case 5: { // non-specific EOI (5: and rotate)
        const n = this.highest(this.isr);
        if (n < 0) return;
        this.isr &= ~(1 << n);
        if (cmd === 5) this.lowestPriority = n;
        return;
      }
      case 3: case 7: // specific EOI (7: and rotate)
        this.isr &= ~(1 << level);
        if (cmd === 7) this.lowestPriority = level;
        return;
      case 6: this.lowestPriority = level; return; // set priority
      default: return; // 2: no operation
    }
  }

  private ocw3(v: number): void {
    if (v & 0x40) this.specialMask = (v & 0x20) !== 0;
    if (v & 0x04) this.pollNext = true;
    if (v & 0x02) this.readIsr = (v & 0x01) !== 0;
  }

  /** RESET: uninitialized, nothing requested or in service (the input lines stay as driven). */
  reset(): void {
    this.irr = 0; this.isr = 0; this.imr = 0; this.vectorBase = 0; this.levelMask = 0;
    this.lowestPriority = 7; this.initStep = 0; this.needIcw4 = false; this.single = false;
    this.autoEoi = false; this.rotateOnAutoEoi = false; this.specialMask = false;
    this.readIsr = false; this.pollNext = false; this.ltim = false;
  }

  /** Edge/level register (ELCR) bits for this chip. */
  setElcr(v: number): void { this.levelMask = this.ltim ? 0xff : v; }
}

/** What PicPair saves in a snapshot. */
export interface PicPairState {
  master: Pic8259State;
  slave: Pic8259State;
  elcr: number[];
}

/** The master/slave pair as the PC wires it. */
export class PicPair implements PortDevice, SnapshotPart<PicPairState> {
  readonly name = 'pic';
  readonly master = new Pic8259();
  readonly slave = new Pic8259();
  private elcr = [0, 0];

  readonly snapshotVersion = 1;
  saveState(): PicPairState {
    return {
      master: this.master.saveState(),
      slave: this.slave.saveState(),
      elcr: structuredClone(this.elcr),
    };
  }
  loadState(s: PicPairState): void {
    this.master.loadState(s.master);
    this.slave.loadState(s.slave);
    this.elcr = structuredClone(s.elcr);
  }

  reset(): void {
    this.master.reset();
    this.slave.reset();
    this.elcr = [0, 0];
  }

  /** Drive ISA IRQ `irq` (0-15). */
  setIrq(irq: number, level: boolean): void {
    if (irq < 8) this.master.setLine(irq, level);
    else {
      this.slave.setLine(irq - 8, level);
      this.syncCascade();
    }
  }

  // the slave's INT output is a level on master IR2, whatever the trigger mode
  private syncCascade(): void {
    if (this.slave.pending() >= 0) this.master.irr |= 1 << CASCADE_IR;
    else this.master.irr &= ~(1 << CASCADE_IR);
  }

  /** The master's INT output. */
  hasInterrupt(): boolean { this.syncCascade(); return this.master.pending() >= 0; }

  /** The two INTA cycles: returns the vector. */
  acknowledge(): number {
    this.syncCascade();
    const n = this.master.acknowledge();
    let vector: number;
    if (n === CASCADE_IR) vector = this.slave.vectorBase + this.slave.acknowledge();
    else vector = this.master.vectorBase + n;
    this.syncCascade();
    return vector;
  }

  read(port: number, _size: IoSize): number {
    this.syncCascade();
    if (port === ELCR || port === ELCR + 1) return this.elcr[port - ELCR];
    const chip = port >= PIC_SLAVE ? this.slave : this.master;
    const poll = chip === this.master && (port & 1) === 0;
    const v = chip.read(port & 1);
    // polling the master for the cascade IR acknowledges the slave too
    if (poll && v === (0x80 | CASCADE_IR)) this.slave.acknowledge();
    this.syncCascade();
    return v;
  }

  write(port: number, _size: IoSize, value: number): void {
    const v = value & 0xff;
    if (port === ELCR) { this.elcr[0] = v & 0xf8; this.master.setElcr(this.elcr[0]); return; } // IRQ 0-2 are always edge
    if (port === ELCR + 1) { this.elcr[1] = v & 0xde; this.slave.setElcr(this.elcr[1]); return; } // IRQ 8, 13 too
    (port >= PIC_SLAVE ? this.slave : this.master).write(port & 1, v);
    this.syncCascade();
  }
}
