// A bare guest for micro-benchmarks: flat 32-bit protected mode, a hand-
// assembled loop at CODE, an IDT whose vector 0x20 handler is a lone IRET,
// and optionally an identity-mapped 8 MiB with 4 KiB pages. No firmware,
// no loader: the host writes the state a benchmark needs and enters.
import { Vm } from '../vm/vm.js';

export const CODE = 0x10000;
export const DATA = 0x300000;       // a plain data page (string I/O source, plain writes)
export const TOUCH = 0x400000;      // 16 pages a shadow-miss loop touches
export const PAGE_DIR = 0x200000;
export const PAGE_TABLES = 0x201000; // two tables: 0-4 MiB, 4-8 MiB
export const IRQ_VECTOR = 0x20;
const GDT = 0x500;
const IDT = 0x800;
const HANDLER = 0xf000;
const STACK_TOP = 0x9000;

export interface FlatGuestOptions {
  vcpus?: number;
  paging?: boolean;
}

/** A VM of 8 MiB whose vCPUs all start at CODE running `code`. */
export function flatGuest(code: number[], options: FlatGuestOptions = {}): Vm {
  const vm = new Vm({ name: 'bench', memoryMiB: 8, vcpus: options.vcpus ?? 1 });
  const gdt = new DataView(new ArrayBuffer(24));
  gdt.setUint32(8, 0x0000ffff, true); gdt.setUint32(12, 0x00cf9a00, true);
  gdt.setUint32(16, 0x0000ffff, true); gdt.setUint32(20, 0x00cf9200, true);
  vm.writePhys(GDT, new Uint8Array(gdt.buffer));
  // interrupt gate 0x20 -> 0x08:HANDLER, DPL 0, present
  vm.writePhys32(IDT + IRQ_VECTOR * 8, (0x08 << 16) | (HANDLER & 0xffff));
  vm.writePhys32(IDT + IRQ_VECTOR * 8 + 4, (HANDLER & 0xffff0000) | 0x8e00);
  vm.writePhys(HANDLER, Uint8Array.of(0xcf)); // iret
  vm.writePhys(CODE, Uint8Array.from(code));
  if (options.paging) identityMap(vm);
  for (const cpu of vm.vcpus) {
    cpu.set('cr0', options.paging ? 0x80000011 : 0x11);
    cpu.set('cr3', options.paging ? PAGE_DIR : 0);
    cpu.set('gdtrBase', GDT); cpu.set('gdtrLimit', 23);
    cpu.set('idtrBase', IDT); cpu.set('idtrLimit', 0x7ff);
    const flat = { base: 0, limit: 0xffffffff };
    cpu.setSegment('cs', { selector: 0x08, ...flat, attr: 0xc09b });
    for (const s of ['ds', 'es', 'fs', 'gs', 'ss'] as const) cpu.setSegment(s, { selector: 0x10, ...flat, attr: 0xc093 });
    cpu.eflags = 0x2;
    cpu.setReg('esp', STACK_TOP - cpu.index * 0x400);
    cpu.eip = CODE;
    vm.core.exports.stateChanged(cpu.index);
  }
  return vm;
}

/** Where the PTE that maps linear (= physical) address `addr` lives. */
export function pteAddress(addr: number): number {
  return PAGE_TABLES + (addr >>> 12) * 4;
}

function identityMap(vm: Vm): void {
  for (let t = 0; t < 2; t++) vm.writePhys32(PAGE_DIR + t * 4, (PAGE_TABLES + t * 0x1000) | 3);
  for (let p = 0; p < 2048; p++) vm.writePhys32(pteAddress(p * 0x1000), (p * 0x1000) | 3);
}
