// What CPUID tells the guest: a Pentium Pro-class integer CPU, advertising only
// what the core implements. A VM's policy may override any leaf.

/** CPUID.1:EDX feature bits. */
export const Feature = {
  fpu: 1 << 0, vme: 1 << 1, de: 1 << 2, pse: 1 << 3, tsc: 1 << 4, msr: 1 << 5, pae: 1 << 6, mce: 1 << 7,
  cx8: 1 << 8, apic: 1 << 9, sep: 1 << 11, mtrr: 1 << 12, pge: 1 << 13, mca: 1 << 14, cmov: 1 << 15,
} as const;

export type CpuidResult = [eax: number, ebx: number, ecx: number, edx: number];

const VENDOR = 'GenuineIntel';
function vendorWords(): [number, number, number] {
  const w = (s: string) => s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24);
  return [w(VENDOR.slice(0, 4)), w(VENDOR.slice(4, 8)), w(VENDOR.slice(8, 12))];
}

export class CpuidPolicy {
  /** Family 6, model 3, stepping 3. */
  signature = 0x0633;
  features: number = Feature.fpu | Feature.pse | Feature.tsc | Feature.msr | Feature.pae | Feature.cx8 | Feature.pge | Feature.cmov;
  private overrides = new Map<number, CpuidResult>();

  /** Replace a whole leaf. */
  override(leaf: number, value: CpuidResult): void { this.overrides.set(leaf >>> 0, value); }

  leaf(leaf: number, _subleaf: number, apicId = 0): CpuidResult {
    const o = this.overrides.get(leaf >>> 0);
    if (o) return o;
    switch (leaf >>> 0) {
      case 0: { const [b, d, c] = vendorWords(); return [1, b, c, d]; }
      case 1: return [this.signature, (apicId & 0xff) << 24, 0, this.features >>> 0];
      default: return [0, 0, 0, 0];
    }
  }
}
