// PAE paging, the walker's second format: 64-bit entries, PDPTEs loaded at
// MOV CR3 / paging on, 2 MiB pages, reserved high bits, and the shadow's
// reverse map for 8-byte entries.
import { describe, it, expect } from 'vitest';
import { PagedMachine, asm, RESULT, GP_RESULT, P, RW, US, A, D, PS, CR0_PE, CR0_PG } from './support/paged-machine.js';
import { traceMmu, type MmuEvent } from '../src/mmu/trace.js';
import { Feature } from '../src/vm/cpuid.js';

const PDPT = 0x30000, PD0 = 0x31000, PD1 = 0x32000, PT_LOW = 0x33000, PT_LIN = 0x34000;
const LIN = 0x40000000; // PDPT index 1, PD index 0
const FRAME_X = 0x100000, FRAME_Y = 0x101000;
const CR4_PAE = 0x20;
const out = (i: number) => RESULT + 16 + i * 4;

/** 32-bit paging at first; `enter` is the code that switches to PAE tables. */
function machine(): { m: PagedMachine; enter: number[]; pte: (lin: number) => number } {
  const m = new PagedMachine();
  const vm = m.vm;
  for (const t of [PDPT, PD0, PD1, PT_LOW, PT_LIN]) vm.fillPhys(t, 0x1000, 0);
  vm.writePhys32(PDPT, PD0 | P);
  vm.writePhys32(PDPT + 8, PD1 | P);
  vm.writePhys32(PD0, PT_LOW | P | RW | US);
  for (let i = 0; i < 512; i++) vm.writePhys32(PT_LOW + i * 8, (i << 12) | P | RW); // low 2 MiB
  vm.writePhys32(PD1, PT_LIN | P | RW | US);
  vm.writePhys32(FRAME_X, 0x1111);
  vm.writePhys32(FRAME_Y, 0x2222);
  const enter = [
    ...asm.movEaxImm(CR0_PE | 0x10), ...asm.movCr0Eax,          // paging off
    ...asm.movEaxImm(PDPT), ...asm.movCr3Eax,
    ...asm.movEaxImm(CR4_PAE), ...asm.movCr4Eax,
    ...asm.movEaxImm(CR0_PE | CR0_PG | 0x10), ...asm.movCr0Eax, // on, PDPTEs loaded
  ];
  const pte = (lin: number) => PT_LIN + ((lin >>> 12) & 0x1ff) * 8;
  return { m, enter, pte };
}

describe('PAE paging', () => {
  it('is advertised by CPUID', () => {
    const m = new PagedMachine();
    expect(m.vm.cpuid.leaf(1, 0)[3] & Feature.pae).toBe(Feature.pae);
  });

  it('translates through 8-byte entries; A on a read, D on a write in the PTE only', () => {
    const { m, enter, pte } = machine();
    m.vm.writePhys32(pte(LIN), FRAME_X | P | RW);
    m.run([...enter, ...asm.loadEax(LIN), ...asm.storeEax(out(0))]);
    expect(m.vm.readPhys32(out(0))).toBe(0x1111);
    expect(m.vm.readPhys32(pte(LIN)) & (A | D)).toBe(A);
    m.run(asm.storeImm(LIN + 8, 5));
    expect(m.vm.readPhys32(FRAME_X + 8)).toBe(5);
    expect(m.vm.readPhys32(pte(LIN)) & (A | D)).toBe(A | D);
    expect(m.vm.readPhys32(PD1) & (A | D)).toBe(A);
    expect(m.fault.count).toBe(0);
  });

  it('2 MiB pages by PDE.PS, whatever CR4.PSE says', () => {
    const { m, enter } = machine();
    m.vm.writePhys32(PD1 + 8, 0x00400000 | P | RW | PS);
    m.run([...enter, ...asm.storeImm(LIN + 0x203454, 0xb16b00b5)]);
    expect(m.vm.readPhys32(0x00403454)).toBe(0xb16b00b5);
    expect(m.vm.readPhys32(PD1 + 8) & (A | D)).toBe(A | D);
  });

  it('absent entries and reserved bits: #PF with P=0, or P and RSVD', () => {
    const { m, enter, pte } = machine();
    m.run([...enter, ...asm.loadEax(LIN + 0x5000)]);
    expect(m.fault).toEqual({ error: 0, cr2: LIN + 0x5000, count: 1 });
    m.vm.writePhys32(pte(LIN), FRAME_X | P | RW);
    m.vm.writePhys32(pte(LIN) + 4, 0x80000000);      // XD without EFER.NXE: reserved
    m.run(asm.storeImm(LIN, 1));
    expect(m.fault).toEqual({ error: 0xb, cr2: LIN, count: 2 });
    m.vm.writePhys32(PD1 + 16, 0x00400000 | P | RW | PS | (1 << 13)); // bit 13 of a 2 MiB PDE
    m.run(asm.loadEax(LIN + 0x400000));
    expect(m.fault).toEqual({ error: 0x9, cr2: LIN + 0x400000, count: 3 });
  });

  it('PDPTEs are loaded by MOV CR3: a reserved bit is #GP(0) and CR3 stays', () => {
    const { m, enter, pte } = machine();
    m.vm.writePhys32(pte(LIN), FRAME_X | P | RW);
    const bad = 0x36000;
    m.vm.fillPhys(bad, 32, 0);
    m.vm.writePhys32(bad, PD0 | P | RW); // R/W is reserved in a PAE PDPTE
    m.run([...enter, ...asm.movEaxImm(bad), ...asm.movCr3Eax]);
    expect(m.vm.readPhys32(GP_RESULT + 4)).toBe(1);
    expect(m.vm.readPhys32(GP_RESULT)).toBe(0);
    expect(m.cpu.get('cr3')).toBe(PDPT);
    // a PDPT rewrite takes effect only at the next MOV CR3, as the CPU caches PDPTEs
    m.vm.writePhys32(PDPT + 8, 0);
    m.run([...asm.loadEax(LIN), ...asm.storeEax(out(0)), ...asm.movEaxImm(PDPT), ...asm.movCr3Eax, ...asm.loadEax(LIN + 4)]);
    expect(m.vm.readPhys32(out(0))).toBe(0x1111);
    expect(m.fault).toEqual({ error: 0, cr2: LIN + 4, count: 1 });
  });

  it('an 8-byte PTE rewritten while cached: the trap drops exactly that entry', () => {
    const { m, enter, pte } = machine();
    m.vm.writePhys32(pte(LIN), FRAME_X | P | RW);
    m.vm.writePhys32(pte(LIN + 0x1000), FRAME_X | P | RW);
    const ev: MmuEvent[] = [];
    m.run([...enter, ...asm.loadEax(LIN), ...asm.loadEax(LIN + 0x1000)]);
    traceMmu(m.vm, (e) => ev.push(e));
    m.run([
      ...asm.storeImm(pte(LIN), FRAME_Y | P | RW),
      ...asm.loadEax(LIN), ...asm.storeEax(out(0)), ...asm.loadEax(LIN + 0x1000), ...asm.storeEax(out(1)),
    ]);
    expect([m.vm.readPhys32(out(0)), m.vm.readPhys32(out(1))]).toEqual([0x2222, 0x1111]);
    expect(ev.filter((e) => e.kind === 'drop')).toEqual([
      { kind: 'drop', cause: 'pt-write', lin: LIN, source: pte(LIN), shadow: expect.objectContaining({ phys: FRAME_X }) }]);
  });

  it('a PDE rewritten drops the entries of its 2 MiB region only', () => {
    const { m, enter, pte } = machine();
    m.vm.writePhys32(pte(LIN), FRAME_X | P | RW);
    m.vm.writePhys32(PD1 + 8, 0x00400000 | P | RW | PS);
    m.run([...enter, ...asm.loadEax(LIN), ...asm.loadEax(LIN + 0x200000)]);
    const drops = m.counters.ptWriteDrops;
    m.run(asm.storeImm(PD1 + 8, 0x00600000 | P | RW | PS));
    expect(m.counters.ptWriteDrops).toBe(drops + 1);
    m.run([...asm.loadEax(LIN + 0x200000 + 0x3454), ...asm.storeEax(out(0))]);
    m.vm.writePhys32(0x00603454, 0x6666);
    m.run([...asm.loadEax(LIN + 0x200000 + 0x3454), ...asm.storeEax(out(0))]);
    expect(m.vm.readPhys32(out(0))).toBe(0x6666);
  });

  it('INVLPG in a 2 MiB page drops that page and not its neighbour in the same 4 MiB', () => {
    const { m, enter } = machine();
    m.vm.writePhys32(PD1 + 16, 0x00400000 | P | RW | PS); // LIN + 4 MiB .. + 6 MiB
    m.vm.writePhys32(PD1 + 24, 0x00600000 | P | RW | PS); // LIN + 6 MiB .. + 8 MiB
    const ev: MmuEvent[] = [];
    m.run([...enter, ...asm.loadEax(LIN + 0x400000), ...asm.loadEax(LIN + 0x401000), ...asm.loadEax(LIN + 0x600000)]);
    traceMmu(m.vm, (e) => ev.push(e));
    m.run(asm.invlpg(LIN + 0x4ff000));
    expect(ev.filter((e) => e.kind === 'drop').map((e) => e.kind === 'drop' && e.lin).sort()).toEqual([LIN + 0x400000, LIN + 0x401000]);
  });
});
