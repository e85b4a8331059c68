// A VM's isolation policy: which I/O ports, MMIO ranges and MSRs the guest
// may use, what CPUID tells it, how many instructions it may run, and what a
// violation does. The VM consults it on each exit (src/vm/vm.ts); every
// violation is counted and the most recent ones are kept for the log.
import type { Vcpu } from '../vm/vcpu.js';
import type { AccessFilter, AccessKind, RefusalAction } from '../vm/access-filter.js';
import type { CpuidPolicy, CpuidResult } from '../vm/cpuid.js';

export type ViolationAction = RefusalAction;
export const VIOLATION_ACTIONS: readonly ViolationAction[] = ['inject-gp', 'exit-and-log', 'stop'];
export type ViolationKind = 'io' | 'mmio' | 'msr' | 'instructions';

/** An inclusive range [first, last]. */
export type Range = readonly [first: number, last: number];

export interface CpuidRule {
  leaf: number;
  /** Registers ANDed with these (a mask clears feature bits). */
  and?: Partial<Record<'eax' | 'ebx' | 'ecx' | 'edx', number>>;
  /** Registers replaced by these. */
  set?: Partial<Record<'eax' | 'ebx' | 'ecx' | 'edx', number>>;
}

export interface PolicySpec {
  /** Ports the guest may use; undefined = all. */
  ioPorts?: Range[];
  /** Guest-physical ranges outside RAM the guest may access; undefined = all. */
  mmio?: Range[];
  /** MSRs the guest may read or write; undefined = all (no filter). */
  msrs?: Range[];
  cpuid?: CpuidRule[];
  maxInstructions?: number;
  onViolation?: ViolationAction;
}

export interface Violation { kind: ViolationKind; detail: string; count: number }

const LOG_KEEP = 32;

/** A VM's isolation policy: the filter in front of its buses (src/vm/access-filter.ts), with counts and a log. */
export class IsolationPolicy implements AccessFilter {
  readonly onViolation: ViolationAction;
  readonly maxInstructions: number;
  readonly counts: Record<ViolationKind, number> = { io: 0, mmio: 0, msr: 0, instructions: 0 };
  /** The latest violations, oldest first. */
  readonly log: Violation[] = [];
  private readonly ports: Uint8Array | undefined;

  constructor(readonly spec: PolicySpec = {}) {
    this.onViolation = spec.onViolation ?? 'exit-and-log';
    this.maxInstructions = spec.maxInstructions ?? Infinity;
    if (spec.ioPorts) {
      // one byte per port: the check runs on every port exit
      this.ports = new Uint8Array(65536);
      for (const [a, b] of spec.ioPorts) this.ports.fill(1, a, b + 1);
    }
  }

  /** Every byte of the access must be on an allowed port. */
  allowsPort(port: number, size: number): boolean {
    const p = this.ports;
    if (!p) return true;
    for (let i = 0; i < size; i++) if (!p[(port + i) & 0xffff]) return false;
    return true;
  }

  allowsMmio(addr: number, size: number): boolean {
    return !this.spec.mmio || inRanges(this.spec.mmio, addr, addr + size - 1);
  }

  allowsMsr(index: number): boolean {
    return !this.spec.msrs || inRanges(this.spec.msrs, index, index);
  }

  record(kind: ViolationKind, detail: string): void {
    const n = ++this.counts[kind];
    this.log.push({ kind, detail, count: n });
    if (this.log.length > LOG_KEEP) this.log.shift();
  }

  /** Told of each refused access (the hypervisor logs them). */
  onRefused: ((kind: AccessKind, detail: string) => void) | undefined;

  refused(kind: AccessKind, detail: string): RefusalAction {
    this.record(kind, detail);
    this.onRefused?.(kind, detail);
    return this.onViolation;
  }

  get violations(): number {
    return this.counts.io + this.counts.mmio + this.counts.msr + this.counts.instructions;
  }

  /** What the core must know per vCPU: whether MSR accesses ask the host first. */
  applyToVcpu(vcpu: Vcpu): void {
    vcpu.set('msrFilter', this.spec.msrs ? 1 : 0);
  }

  /** CPUID rules become overrides of the VM's CPUID answers. */
  applyToCpuid(cpuid: CpuidPolicy): void {
    for (const rule of this.spec.cpuid ?? []) {
      const [a, b, c, d] = cpuid.leaf(rule.leaf, 0);
      const regs = { eax: a, ebx: b, ecx: c, edx: d };
      for (const r of ['eax', 'ebx', 'ecx', 'edx'] as const) {
        if (rule.and?.[r] !== undefined) regs[r] = (regs[r] & rule.and[r]!) >>> 0;
        if (rule.set?.[r] !== undefined) regs[r] = rule.set[r]! >>> 0;
      }
      const out: CpuidResult = [regs.eax, regs.ebx, regs.ecx, regs.edx];
      cpuid.override(rule.leaf, out);
    }
  }
}

function inRanges(ranges: readonly Range[], first: number, last: number): boolean {
  return ranges.some(([a, b]) => first >= a && last <= b);
}
