// A bare 32-bit protected-mode machine with paging, for MMU tests: the test
// writes page tables and a few hand-assembled instructions, runs, and reads
// back what the guest (and its #PF handler) did.
//
// Physical layout: GDT 0x1000, TSS 0x2000, IDT 0x3000, #PF handler 0x4000,
// results 0x5000 (#PF error code, CR2, #PF count; #GP error code and count at
// 0x5040), a #GP handler at 0x4100, stacks below 0x9000 (ring 0)
// and 0xA000 (ring 3), page directory 0x10000, page tables from 0x11000,
// test code at 0x20000. The low 4 MiB are identity-mapped (supervisor, RW).
import { Vm } from '../../src/vm/vm.js';
import { ExitReason, EXIT_REASON_NAMES } from '../../src/core/layout.js';

export const GDT = 0x1000, TSS = 0x2000, IDT = 0x3000, HANDLER = 0x4000, GP_HANDLER = 0x4100, RESULT = 0x5000;
export const GP_RESULT = RESULT + 0x40;
export const PD = 0x10000, PT0 = 0x11000, CODE = 0x20000;
export const P = 1, RW = 2, US = 4, A = 0x20, D = 0x40, PS = 0x80, G = 0x100;
export const CR0_PE = 1, CR0_WP = 1 << 16, CR0_PG = 0x80000000, CR4_PSE = 0x10, CR4_PGE = 0x80;

const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

/** The few instructions the tests need, as bytes. */
export const asm = {
  movEaxImm: (v: number) => [0xb8, ...le32(v)],
  movEbxImm: (v: number) => [0xbb, ...le32(v)],
  loadEax: (addr: number) => [0xa1, ...le32(addr)],            // mov eax, [addr]
  storeEax: (addr: number) => [0xa3, ...le32(addr)],           // mov [addr], eax
  storeImm: (addr: number, v: number) => [0xc7, 0x05, ...le32(addr), ...le32(v)], // mov dword [addr], v
  movEbxToMem: (addr: number) => [0x89, 0x1d, ...le32(addr)],  // mov [addr], ebx
  movCr0Eax: [0x0f, 0x22, 0xc0],
  movCr3Eax: [0x0f, 0x22, 0xd8],
  movCr4Eax: [0x0f, 0x22, 0xe0],
  invlpg: (addr: number) => [0x0f, 0x01, 0x3d, ...le32(addr)],
  call: (from: number, to: number) => [0xe8, ...le32(to - (from + 5))],
  ret: [0xc3],
  hlt: [0xf4],
};

export class PagedMachine {
  readonly vm = new Vm({ memoryMiB: 16 });
  readonly cpu = this.vm.vcpus[0];
  private nextTable = PT0 + 0x1000;

  constructor() {
    const vm = this.vm;
    // GDT: null, code0, data0, code3, data3, TSS
    const desc = (base: number, limit: number, access: number, flags: number) => [
      limit & 0xff, (limit >>> 8) & 0xff, base & 0xff, (base >>> 8) & 0xff, (base >>> 16) & 0xff, access,
      (flags << 4) | ((limit >>> 16) & 0xf), (base >>> 24) & 0xff];
    vm.writePhys(GDT, Uint8Array.from([
      ...[0, 0, 0, 0, 0, 0, 0, 0], ...desc(0, 0xfffff, 0x9a, 0xc), ...desc(0, 0xfffff, 0x92, 0xc),
      ...desc(0, 0xfffff, 0xfa, 0xc), ...desc(0, 0xfffff, 0xf2, 0xc), ...desc(TSS, 0x67, 0x8b, 0)]));
    vm.writePhys32(TSS + 4, 0x9000); // ESP0
    vm.writePhys32(TSS + 8, 0x10);   // SS0
    // IDT entries 13 and 14: 32-bit interrupt gates to the handlers
    const gate = (h: number) => Uint8Array.from([h & 0xff, h >>> 8, 0x08, 0, 0, 0x8e, 0, 0]);
    vm.writePhys(IDT + 14 * 8, gate(HANDLER));
    vm.writePhys(IDT + 13 * 8, gate(GP_HANDLER));
    // #GP handler: record error code, count; then stop
    vm.writePhys(GP_HANDLER, Uint8Array.from([0x58, ...asm.storeEax(GP_RESULT), 0xff, 0x05, ...le32(GP_RESULT + 4), ...asm.hlt]));
    // #PF handler: record error code, CR2, count; then stop
    vm.writePhys(HANDLER, Uint8Array.from([
      0x58, ...asm.storeEax(RESULT),             // pop eax; mov [RESULT], eax
      0x0f, 0x20, 0xd0, ...asm.storeEax(RESULT + 4), // mov eax, cr2; mov [RESULT+4], eax
      0xff, 0x05, ...le32(RESULT + 8),           // inc dword [RESULT+8]
      ...asm.hlt]));
    vm.writePhys32(RESULT, 0xdeadbeef);
    vm.writePhys32(RESULT + 4, 0xdeadbeef);
    // identity-map the low 4 MiB, supervisor read/write
    this.pde(0, PT0 | P | RW | US);
    for (let i = 0; i < 1024; i++) vm.writePhys32(PT0 + i * 4, (i << 12) | P | RW);
    const cpu = this.cpu;
    cpu.set('gdtrBase', GDT); cpu.set('gdtrLimit', 6 * 8 - 1);
    cpu.set('idtrBase', IDT); cpu.set('idtrLimit', 256 * 8 - 1);
    cpu.set('cr0', CR0_PE | CR0_PG | 0x10);
    cpu.set('cr3', PD);
    cpu.setSegment('tr', { selector: 0x28, base: TSS, limit: 0x67, attr: 0x8b });
    this.ring(0);
    cpu.setReg('esp', 0x9000);
    cpu.eflags = 2;
    this.vm.core.exports.stateChanged(0);
  }

  /** Run code with CS/SS/DS/ES of this ring (the page tables decide what it may touch). */
  ring(r: 0 | 3): void {
    const code = r === 0 ? { selector: 0x08, attr: 0xc09b } : { selector: 0x1b, attr: 0xc0fb };
    const data = r === 0 ? { selector: 0x10, attr: 0xc093 } : { selector: 0x23, attr: 0xc0f3 };
    for (const s of ['ss', 'ds', 'es', 'fs', 'gs'] as const) this.cpu.setSegment(s, { ...data, base: 0, limit: 0xffffffff });
    this.cpu.setSegment('cs', { ...code, base: 0, limit: 0xffffffff });
  }

  pde(index: number, value: number, dir = PD): void { this.vm.writePhys32(dir + index * 4, value); }
  /** A new page table for directory index `index` (all entries absent); returns its address. */
  table(index: number, flags = P | RW | US, dir = PD): number {
    const t = this.nextTable;
    this.nextTable += 0x1000;
    this.vm.fillPhys(t, 0x1000, 0);
    this.pde(index, t | flags, dir);
    return t;
  }
  /** Map linear page `lin` to `phys` in the table behind its PDE. */
  map(lin: number, phys: number, flags: number, dir = PD): void {
    const pt = this.vm.readPhys32(dir + (lin >>> 22) * 4) & ~0xfff;
    this.vm.writePhys32(pt + ((lin >>> 12) & 0x3ff) * 4, (phys & ~0xfff) | flags);
  }
  pteAddr(lin: number, dir = PD): number {
    return (this.vm.readPhys32(dir + (lin >>> 22) * 4) & ~0xfff) + ((lin >>> 12) & 0x3ff) * 4;
  }
  pte(lin: number, dir = PD): number { return this.vm.readPhys32(this.pteAddr(lin, dir)); }

  /** Put `code` (then HLT) at CODE, run it from there until a HLT (its own or the #PF handler's); the exit that ended it. */
  run(code: number[], at = CODE): string {
    this.vm.writePhys(at, Uint8Array.from([...code, ...asm.hlt]));
    this.cpu.eip = at;
    this.cpu.halted = false;
    this.cpu.setReg('esp', this.cpu.get('cpl') === 3 ? 0xa000 : 0x9000);
    for (;;) {
      const reason = this.vm.core.exports.enter(0, 100_000);
      if (reason === ExitReason.Io || reason === ExitReason.Mmio) { this.vm.handleExit(this.cpu, reason); continue; }
      return EXIT_REASON_NAMES[reason];
    }
  }

  get fault(): { error: number; cr2: number; count: number } {
    return { error: this.vm.readPhys32(RESULT), cr2: this.vm.readPhys32(RESULT + 4), count: this.vm.readPhys32(RESULT + 8) };
  }
  get counters() { return this.cpu.counters(); }
}
