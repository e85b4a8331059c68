// Reading guest memory by linear address from the host, as the guest sees it:
// the host walks the guest's 32-bit page tables itself (read-only, so no
// accessed/dirty bits change and the soft TLB is left alone).
import type { Vm } from '../vm/vm.js';

const P = 1, PS = 0x80, CR0_PG = 0x80000000, CR4_PSE = 0x10;
/**
 * The PC maps its ROM at the top of 4 GiB as a read-only alias of the copy
 * that ends at 1 MiB (src/platform/pc.ts): the last MiB below 4 GiB shows as
 * the first MiB (the plain multiboot machine runs nothing there).
 */
const TOP_ALIAS = 0xfff00000;

/** Guest-physical address of `lin`, or undefined when the guest's tables do not map it (or it is outside RAM). */
export function linearToPhys(vm: Vm, lin: number, vcpu = 0): number | undefined {
  const cpu = vm.vcpus[vcpu];
  let phys = lin >>> 0;
  if (cpu.get('cr0') & CR0_PG) {
    const entry = (addr: number) => (addr + 4 <= vm.ramBytes ? vm.readPhys32(addr) : 0);
    const pde = entry(((cpu.get('cr3') & ~0xfff) >>> 0) + (lin >>> 22) * 4);
    if (!(pde & P)) return undefined;
    if (pde & PS && cpu.get('cr4') & CR4_PSE) phys = ((pde & 0xffc00000) | (lin & 0x3fffff)) >>> 0;
    else {
      const pte = entry(((pde & ~0xfff) >>> 0) + ((lin >>> 12) & 0x3ff) * 4);
      if (!(pte & P)) return undefined;
      phys = ((pte & ~0xfff) | (lin & 0xfff)) >>> 0;
    }
  }
  if (phys >= TOP_ALIAS && vm.ramBytes >= 0x100000) phys -= TOP_ALIAS;
  return phys < vm.ramBytes ? phys : undefined;
}

/** Up to `length` bytes from `lin`; shorter where a page is not mapped. */
export function readLinear(vm: Vm, lin: number, length: number, vcpu = 0): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const phys = linearToPhys(vm, (lin + i) >>> 0, vcpu);
    if (phys === undefined) return out.subarray(0, i);
    out[i] = vm.core.bytes[vm.core.exports.ramBase() + phys];
  }
  return out;
}
