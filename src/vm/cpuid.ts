// What CPUID tells the guest: a Pentium Pro-class integer CPU, advertising only
// what the core implements. A VM's policy may override any leaf. The VM writes
// these answers into the core's CPUID table (as KVM_SET_CPUID2 does) whenever
// they change, and the core answers CPUID from it without leaving.

/** CPUID.1:EDX feature bits. */
export const Feature = {
  fpu: 1 << 0, vme: 1 << 1, de: 1 << 2, pse: 1 << 3, tsc: 1 << 4, msr: 1 << 5, pae: 1 << 6, mce: 1 << 7,
  cx8: 1 << 8, apic: 1 << 9, sep: 1 << 11, mtrr: 1 << 12, pge: 1 << 13, mca: 1 << 14, cmov: 1 << 15,
  fxsr: 1 << 24, sse: 1 << 25, sse2: 1 << 26,
} as const;

/**
 * CPU models (`trapeze run --cpu`), as QEMU's -cpu: the features each adds to the
 * P6 base. The core reads FXSR/SSE/SSE2 from CPUID, so the model decides whether
 * CR4.OSFXSR can be set and the SSE instructions run.
 *   p6   the default: a Pentium Pro-class CPU, no FXSR/SSE.
 *   sse  P6 + FXSR, SSE, SSE2 *state*: XMM0-7, MXCSR, FXSAVE/FXRSTOR, LDMXCSR/STMXCSR,
 *        the fences and the 128-bit moves (MOVUPS/UPD/APS/APD, MOVDQU/DQA, MOVSS/SD).
 *        Every other SSE/SSE2 instruction is #UD reported as unimplemented, so this
 *        model is for guests that only move XMM data (kvm-unit-tests' emulator), not
 *        for software that picks SSE2 code paths from CPUID (glibc, gcc -msse2).
 */
export const CPU_MODELS: Record<string, number> = {
  p6: 0,
  sse: Feature.fxsr | Feature.sse | Feature.sse2,
};

export type CpuidResult = [eax: number, ebx: number, ecx: number, edx: number];

const VENDOR = 'GenuineIntel';
function vendorWords(): [number, number, number] {
  const w = (s: string) => s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24);
  return [w(VENDOR.slice(0, 4)), w(VENDOR.slice(4, 8)), w(VENDOR.slice(8, 12))];
}

/** Leaves the policy answers without an override (any other leaf reads as zeros). */
const BUILT_IN_LEAVES = [0, 1];

export class CpuidPolicy {
  private sig = 0x0633; // family 6, model 3, stepping 3
  private feat: number = Feature.fpu | Feature.pse | Feature.tsc | Feature.msr | Feature.pae | Feature.cx8 | Feature.pge | Feature.cmov;
  private overrides = new Map<number, CpuidResult>();

  /** `changed` is told after every change (the VM rewrites the core's table). */
  constructor(private readonly changed: () => void = () => {}) {}

  get signature(): number { return this.sig; }
  set signature(v: number) { this.sig = v >>> 0; this.changed(); }
  get features(): number { return this.feat; }
  set features(v: number) { this.feat = v >>> 0; this.changed(); }

  /** Replace a whole leaf. */
  override(leaf: number, value: CpuidResult): void {
    this.overrides.set(leaf >>> 0, value.map((x) => x >>> 0) as CpuidResult);
    this.changed();
  }

  /** The answer for `leaf` on the vCPU whose local APIC ID is `apicId`. */
  leaf(leaf: number, _subleaf: number, apicId = 0): CpuidResult {
    const o = this.overrides.get(leaf >>> 0);
    if (o) return o;
    switch (leaf >>> 0) {
      case 0: { const [b, d, c] = vendorWords(); return [1, b, c, d]; }
      case 1: return [this.sig, (apicId & 0xff) << 24, 0, this.feat >>> 0];
      default: return [0, 0, 0, 0];
    }
  }

  /** Every leaf with a non-default answer, in order: what the core's table holds. */
  leaves(): number[] {
    return [...new Set([...BUILT_IN_LEAVES, ...this.overrides.keys()])].sort((a, b) => a - b);
  }
}
