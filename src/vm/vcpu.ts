// A vCPU's architectural state as the host sees it: read and written through a
// DataView over the core's state block for that vCPU.
import { State, Seg, SEG_SIZE, COUNTER_NAMES, type CounterName } from '../core/layout.js';
import type { CoreInstance } from '../core/core.js';

export const GPR_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'] as const;
export type GprName = (typeof GPR_NAMES)[number];
export const SEG_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldtr', 'tr'] as const;
export type SegName = (typeof SEG_NAMES)[number];

export interface SegmentCache { selector: number; base: number; limit: number; attr: number }

export interface Registers {
  eax: number; ecx: number; edx: number; ebx: number; esp: number; ebp: number; esi: number; edi: number;
  eip: number; eflags: number;
}

export class Vcpu {
  /** An application processor before its startup IPI (host-side state, like KVM's mp_state). */
  waitingForSipi = false;

  constructor(private readonly core: CoreInstance, readonly index: number) {}

  /** Offset of this vCPU's state block now (it moves when another vCPU runs). */
  private get base(): number { return this.core.exports.stateOffset(this.index); }

  get(field: keyof typeof State): number { return this.core.view.getUint32(this.base + State[field], true); }
  set(field: keyof typeof State, v: number): void { this.core.view.setUint32(this.base + State[field], v >>> 0, true); }

  gpr(i: number): number { return this.core.view.getUint32(this.base + State.gpr + i * 4, true); }
  setGpr(i: number, v: number): void { this.core.view.setUint32(this.base + State.gpr + i * 4, v >>> 0, true); }
  reg(name: GprName): number { return this.gpr(GPR_NAMES.indexOf(name)); }
  setReg(name: GprName, v: number): void { this.setGpr(GPR_NAMES.indexOf(name), v); }

  get eip(): number { return this.get('eip'); }
  set eip(v: number) { this.set('eip', v); }
  /** EFLAGS.IF, from the stored flags (IF is never lazy): a plain read of the state block. */
  get interruptsEnabled(): boolean { return (this.get('eflags') & 0x200) !== 0; }
  get eflags(): number { return this.core.exports.getEflags(this.index) >>> 0; }
  set eflags(v: number) { this.core.exports.setEflags(this.index, v >>> 0); }

  registers(): Registers {
    const r = {} as Registers;
    GPR_NAMES.forEach((n, i) => { r[n] = this.gpr(i); });
    r.eip = this.eip;
    r.eflags = this.eflags;
    return r;
  }

  segment(s: SegName): SegmentCache {
    const a = this.base + State.seg + SEG_NAMES.indexOf(s) * SEG_SIZE;
    const v = this.core.view;
    return {
      selector: v.getUint32(a + Seg.selector, true), base: v.getUint32(a + Seg.base, true),
      limit: v.getUint32(a + Seg.limit, true), attr: v.getUint32(a + Seg.attr, true),
    };
  }
  setSegment(s: SegName, c: SegmentCache): void {
    this.core.exports.setSegment(this.index, SEG_NAMES.indexOf(s), c.selector, c.base >>> 0, c.limit >>> 0, c.attr);
  }

  /** Inject an external interrupt: taken at the next boundary where IF allows. */
  injectInterrupt(vector: number): void { this.core.view.setInt32(this.base + State.irq, vector, true); }
  get pendingInterrupt(): number { return this.core.view.getInt32(this.base + State.irq, true); }
  /** Raise NMI: vector 2 at the next boundary outside an interrupt shadow, whatever IF says (one waits at most). */
  injectNmi(): void { this.set('nmi', this.get('nmi') | 1); }
  get nmiPending(): boolean { return (this.get('nmi') & 1) !== 0; }
  /** Between an NMI's delivery and the next IRET, further NMIs wait. */
  get nmiBlocked(): boolean { return (this.get('nmi') & 2) !== 0; }
  /** Leave with an irq-window exit at the first boundary where an external interrupt could be taken (as KVM's interrupt-window exiting). */
  requestInterruptWindow(on = true): void { this.set('irqWindow', on ? 1 : 0); }
  get halted(): boolean { return this.get('halted') !== 0; }
  set halted(v: boolean) { this.set('halted', v ? 1 : 0); }
  get instructionsRetired(): number { return Number(this.core.view.getBigUint64(this.base + State.instret, true)); }

  counter(name: CounterName): number {
    return Number(this.core.view.getBigUint64(this.base + State.counters + COUNTER_NAMES.indexOf(name) * 8, true));
  }
  counters(): Record<CounterName, number> {
    const out = {} as Record<CounterName, number>;
    for (const n of COUNTER_NAMES) out[n] = this.counter(n);
    return out;
  }
}
