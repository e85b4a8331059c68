// Entering a kernel in flat 32-bit protected mode, as boot loaders do: a GDT
// with 4 GiB code and data descriptors (at the selectors the protocol names),
// CR0.PE, every data segment loaded with the data selector, interrupts off.
import type { Vm } from '../vm/vm.js';

export interface Flat32Entry {
  /** Guest-physical address of the GDT the loader writes. */
  gdt: number;
  /** Selectors of the code and data descriptors (GDT slots, RPL 0). */
  code: number;
  data: number;
  entry: number;
}

export function enterFlat32(vm: Vm, at: Flat32Entry): void {
  const size = Math.max(at.code, at.data) + 8;
  const gdt = new DataView(new ArrayBuffer(size));
  gdt.setUint32(at.code, 0x0000ffff, true); gdt.setUint32(at.code + 4, 0x00cf9a00, true);
  gdt.setUint32(at.data, 0x0000ffff, true); gdt.setUint32(at.data + 4, 0x00cf9200, true);
  vm.writePhys(at.gdt, new Uint8Array(gdt.buffer));
  const cpu = vm.vcpus[0];
  cpu.set('cr0', 0x11); // PE, ET
  cpu.set('gdtrBase', at.gdt);
  cpu.set('gdtrLimit', size - 1);
  const flat = { base: 0, limit: 0xffffffff };
  cpu.setSegment('cs', { selector: at.code, ...flat, attr: 0xc09b });
  for (const s of ['ds', 'es', 'fs', 'gs', 'ss'] as const) cpu.setSegment(s, { selector: at.data, ...flat, attr: 0xc093 });
  cpu.eflags = 0x2;
  cpu.eip = at.entry;
}
