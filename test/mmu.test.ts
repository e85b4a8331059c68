// Guest paging and the shadow page table, one behaviour at a time: each test
// writes page tables and a few instructions, runs them, and checks what the
// guest saw (#PF error code and CR2, data, A/D bits) and what the shadow did
// (counters, MMU events).
import { describe, it, expect } from 'vitest';
import {
  PagedMachine, asm, PD, CODE, RESULT, P, RW, US, A, D, PS, G, CR0_PE, CR0_PG, CR0_WP, CR4_PSE, CR4_PGE,
} from './support/paged-machine.js';
import { traceMmu, type MmuEvent } from '../src/mmu/trace.js';
import { RAM_BASE, COUNTER_NAMES } from '../src/core/layout.js';

const LIN = 0x40000000; // directory index 256
const FRAME_X = 0x100000, FRAME_Y = 0x101000;

function machine(): PagedMachine {
  const m = new PagedMachine();
  m.table(256);
  m.vm.writePhys32(FRAME_X, 0x1111);
  m.vm.writePhys32(FRAME_Y, 0x2222);
  return m;
}
const setCr4 = (v: number) => [...asm.movEaxImm(v), ...asm.movCr4Eax];
const setCr0 = (v: number) => [...asm.movEaxImm(v), ...asm.movCr0Eax];
const setCr3 = (v: number) => [...asm.movEaxImm(v), ...asm.movCr3Eax];
const out = (i: number) => RESULT + 16 + i * 4;

describe('core and host agree on the MMU tables', () => {
  it('RAM base and counter count', () => {
    const m = new PagedMachine();
    expect(m.vm.core.exports.ramBase()).toBe(RAM_BASE);
    expect(m.vm.core.exports.counterCount()).toBe(COUNTER_NAMES.length);
  });
});

describe('#PF error codes and CR2', () => {
  it('absent PTE: read 0, write 2; absent PDE: 0', () => {
    const m = machine();
    expect(m.run(asm.loadEax(LIN + 0x1234))).toBe('hlt');
    expect(m.fault).toEqual({ error: 0, cr2: LIN + 0x1234, count: 1 });
    m.run(asm.storeImm(LIN + 0x2008, 5));
    expect(m.fault).toEqual({ error: 2, cr2: LIN + 0x2008, count: 2 });
    m.run(asm.loadEax(0x50000010));
    expect(m.fault).toEqual({ error: 0, cr2: 0x50000010, count: 3 });
    expect(m.counters.guestPageFaults).toBe(3);
  });

  it('a page table outside RAM reads as absent, and the host goes on', () => {
    const m = machine();
    m.pde(260, 0xff000000 | P | RW);
    m.run(asm.loadEax(0x41000004));
    expect(m.fault).toEqual({ error: 0, cr2: 0x41000004, count: 1 });
  });

  it('reserved bits 21:13 of a 4 MiB PDE: RSVD with P, W/R as the access', () => {
    const m = machine();
    m.pde(258, 0x00400000 | P | RW | PS | (1 << 13));
    m.run([...setCr4(CR4_PSE), ...asm.loadEax(0x40800010)]);
    expect(m.fault).toEqual({ error: 0x9, cr2: 0x40800010, count: 1 });
    m.run(asm.storeImm(0x40800020, 1));
    expect(m.fault).toEqual({ error: 0xb, cr2: 0x40800020, count: 2 });
    // without PSE the PS bit is ignored: the PDE points at a page table (here: absent entries)
    m.pde(258, 0x00400000 | P | RW | PS | (1 << 13));
    m.run([...setCr4(0), ...asm.loadEax(0x40800010)]);
    expect(m.fault.error).toBe(0);
  });
});

describe('U/S and R/W', () => {
  function ring3(): PagedMachine {
    const m = machine();
    m.map(CODE, CODE, P | US);             // ring 3 code
    m.map(0x9000, 0x9000, P | RW | US);    // ring 3 stack
    return m;
  }

  it('from ring 3: supervisor page read 5, read-only page write 7, user read fine', () => {
    const m = ring3();
    m.map(LIN, FRAME_X, P | RW);
    m.map(LIN + 0x1000, FRAME_Y, P | US);
    m.ring(3);
    m.run(asm.loadEax(LIN + 4));
    expect(m.fault).toEqual({ error: 5, cr2: LIN + 4, count: 1 });
    m.ring(3);
    m.map(RESULT, RESULT, P | RW | US);
    m.run([...asm.loadEax(LIN + 0x1000), ...asm.storeEax(out(0)), ...asm.storeEax(LIN + 0x1010)]);
    expect(m.fault).toEqual({ error: 7, cr2: LIN + 0x1010, count: 2 });
    expect(m.vm.readPhys32(out(0))).toBe(0x2222); // the read went through before the write faulted
  });

  it('U/S and R/W combine over PDE and PTE', () => {
    const m = ring3();
    const t = m.table(257, P | RW);       // PDE U=0
    m.vm.writePhys32(t, FRAME_X | P | RW | US);
    m.ring(3);
    m.run(asm.loadEax(0x40400000));
    expect(m.fault).toEqual({ error: 5, cr2: 0x40400000, count: 1 });
    const t2 = m.table(258, P | US);      // PDE RW=0
    m.vm.writePhys32(t2, FRAME_X | P | RW | US);
    m.ring(3);
    m.map(RESULT, RESULT, P | RW | US);
    m.run([...asm.loadEax(0x40800000), ...asm.storeEax(out(0)), ...asm.storeEax(0x40800000)]);
    expect(m.vm.readPhys32(out(0))).toBe(0x1111);
    expect(m.fault).toEqual({ error: 7, cr2: 0x40800000, count: 2 });
  });

  it('ring 0 writes a read-only page with WP=0, faults with WP=1 (error 3)', () => {
    const m = machine();
    m.map(LIN, FRAME_X, P);
    m.run(asm.storeImm(LIN + 8, 0x77));
    expect(m.vm.readPhys32(FRAME_X + 8)).toBe(0x77);
    expect(m.fault.count).toBe(0);
    // the shadow now lets ring 0 write this page; setting WP must flush that
    m.run([...setCr0(CR0_PE | CR0_PG | CR0_WP | 0x10), ...asm.storeImm(LIN + 8, 0x88)]);
    expect(m.fault).toEqual({ error: 3, cr2: LIN + 8, count: 1 });
    expect(m.vm.readPhys32(FRAME_X + 8)).toBe(0x77);
    expect(m.counters.flushCr0Cr4).toBe(1);
  });
});

describe('accessed and dirty bits', () => {
  it('a read sets A in PDE and PTE; a write sets D in the PTE only', () => {
    const m = machine();
    m.map(LIN, FRAME_X, P | RW);
    m.run(asm.loadEax(LIN));
    expect(m.pte(LIN) & (A | D)).toBe(A);
    expect(m.vm.readPhys32(PD + 256 * 4) & (A | D)).toBe(A);
    const walks = m.counters.guestWalks;
    m.run(asm.storeImm(LIN, 1));
    expect(m.pte(LIN) & (A | D)).toBe(A | D);
    expect(m.vm.readPhys32(PD + 256 * 4) & (A | D)).toBe(A);
    expect(m.counters.guestWalks).toBe(walks + 1); // the first write walks again to set D
    m.run(asm.storeImm(LIN, 2));
    expect(m.counters.guestWalks).toBe(walks + 1); // later writes hit the shadow
  });

  it('D comes back after the guest clears it, without INVLPG', () => {
    const m = machine();
    m.map(LIN, FRAME_X, P | RW);
    const pte = m.pteAddr(LIN);
    m.run([...asm.storeImm(LIN, 1), ...asm.storeImm(pte, FRAME_X | P | RW), ...asm.storeImm(LIN, 2)]);
    expect(m.pte(LIN) & (A | D)).toBe(A | D);
    expect(m.counters.ptWriteDrops).toBe(1);
  });

  it('a 4 MiB page: A and D in the PDE, data at the right frame', () => {
    const m = machine();
    m.pde(259, 0x00400000 | P | RW | PS);
    m.run([...setCr4(CR4_PSE), ...asm.loadEax(0x40c23454)]);
    expect(m.vm.readPhys32(PD + 259 * 4) & (A | D)).toBe(A);
    m.run(asm.storeImm(0x40c23454, 0xb16b00b5));
    expect(m.vm.readPhys32(0x00423454)).toBe(0xb16b00b5);
    expect(m.vm.readPhys32(PD + 259 * 4) & (A | D)).toBe(A | D);
  });
});

describe('the shadow follows the guest', () => {
  function events(m: PagedMachine): MmuEvent[] {
    const list: MmuEvent[] = [];
    traceMmu(m.vm, (e) => list.push(e));
    return list;
  }

  it('a PTE rewritten while its translation is cached: the write traps and drops exactly that entry', () => {
    const m = machine();
    m.map(LIN, FRAME_X, P | RW);
    m.map(LIN + 0x1000, FRAME_X, P | RW);
    const pte = m.pteAddr(LIN);
    const ev = events(m);
    m.run([
      ...asm.loadEax(LIN), ...asm.storeEax(out(0)), ...asm.loadEax(LIN + 0x1000),
      ...asm.storeImm(pte, FRAME_Y | P | RW),          // no INVLPG
      ...asm.loadEax(LIN), ...asm.storeEax(out(1)),
      ...asm.storeImm(m.pteAddr(LIN + 0x5000), FRAME_Y | P | RW), // a PTE nothing was made from
    ]);
    expect([m.vm.readPhys32(out(0)), m.vm.readPhys32(out(1))]).toEqual([0x1111, 0x2222]);
    expect(m.counters.ptWriteTraps).toBe(2);
    expect(m.counters.ptWriteDrops).toBe(1);
    const drops = ev.filter((e) => e.kind === 'drop');
    expect(drops).toEqual([{ kind: 'drop', cause: 'pt-write', lin: LIN, source: pte, shadow: expect.objectContaining({ phys: FRAME_X }) }]);
  });

  it('a PDE rewritten: the entries of its 4 MiB region go', () => {
    const m = machine();
    m.map(LIN, FRAME_X, P | RW);
    const other = m.table(300);
    m.vm.writePhys32(other, FRAME_Y | P | RW);
    m.run([
      ...asm.loadEax(LIN), ...asm.storeEax(out(0)),
      ...asm.storeImm(PD + 256 * 4, other | P | RW | US),
      ...asm.loadEax(LIN), ...asm.storeEax(out(1)),
    ]);
    expect([m.vm.readPhys32(out(0)), m.vm.readPhys32(out(1))]).toEqual([0x1111, 0x2222]);
    expect(m.counters.ptWriteDrops).toBe(1);
  });

  it('INVLPG drops the page; for a 4 MiB page, every entry made from it', () => {
    const m = machine();
    m.map(LIN, FRAME_X, P | RW);
    m.pde(259, 0x00400000 | P | RW | PS);
    const ev = events(m);
    m.run([...setCr4(CR4_PSE), ...asm.loadEax(LIN), ...asm.loadEax(0x40c00000), ...asm.loadEax(0x40c01000), ...asm.loadEax(0x40c02000)]);
    const fills = m.counters.shadowFills;
    m.run([...asm.invlpg(LIN), ...asm.invlpg(0x40c01234), ...asm.loadEax(LIN)]);
    const drops = ev.filter((e) => e.kind === 'drop').map((e) => e.kind === 'drop' && `${e.cause} ${e.lin.toString(16)}`);
    expect(drops.sort()).toEqual(['invlpg 40000000', 'invlpg 40c00000', 'invlpg 40c01000', 'invlpg 40c02000']);
    expect(m.counters.flushInvlpg).toBe(2);
    expect(m.counters.shadowFills).toBe(fills + 1);
  });

  it('MOV CR3 without global pages: everything is dropped, the new space translates', () => {
    const m = machine();
    m.map(LIN, FRAME_X, P | RW);
    const pd2 = 0x30000;
    m.vm.fillPhys(pd2, 0x1000, 0);
    m.pde(0, m.vm.readPhys32(PD) & ~(A | D), pd2);
    const t = m.table(256, P | RW | US, pd2);
    m.vm.writePhys32(t, FRAME_Y | P | RW);
    m.run([...asm.loadEax(LIN), ...asm.storeEax(out(0)), ...setCr3(pd2), ...asm.loadEax(LIN), ...asm.storeEax(out(1))]);
    expect([m.vm.readPhys32(out(0)), m.vm.readPhys32(out(1))]).toEqual([0x1111, 0x2222]);
    expect(m.counters.flushCr3).toBe(1);
    expect(m.counters.globalsKept).toBe(0);
  });

  it('MOV CR3 with CR4.PGE keeps global entries; clearing PGE drops them', () => {
    const m = machine();
    m.map(LIN, FRAME_X, P | RW | G);
    m.map(LIN + 0x1000, FRAME_X, P | RW);  // not global
    const pd2 = 0x30000;
    m.vm.fillPhys(pd2, 0x1000, 0);
    m.pde(0, m.vm.readPhys32(PD) & ~(A | D), pd2);
    const t = m.table(256, P | RW | US, pd2);
    m.vm.writePhys32(t, FRAME_Y | P | RW);
    m.vm.writePhys32(t + 4, FRAME_Y | P | RW);
    const ev = events(m);
    m.run([
      ...setCr4(CR4_PGE), ...asm.loadEax(LIN), ...asm.loadEax(LIN + 0x1000),
      ...setCr3(pd2),
      ...asm.loadEax(LIN), ...asm.storeEax(out(0)),          // the kept global entry (the TLB may keep it)
      ...asm.loadEax(LIN + 0x1000), ...asm.storeEax(out(1)), // refilled from the new tables
      ...setCr4(0),
      ...asm.loadEax(LIN), ...asm.storeEax(out(2)),
    ]);
    expect([0, 1, 2].map((i) => m.vm.readPhys32(out(i)))).toEqual([0x1111, 0x2222, 0x2222]);
    expect(m.counters.globalsKept).toBe(1);
    expect(ev.filter((e) => e.kind === 'flush').map((e) => e.kind === 'flush' && [e.cause, e.globalsKept]))
      .toEqual([['cr0/cr4', 0], ['cr3', 1], ['cr0/cr4', 0]]);
  });

  it('after a flush, the old tables stop trapping; a kept global entry keeps its table protected', () => {
    const m = machine();
    m.map(LIN, FRAME_X, P | RW | G);
    const pd2 = 0x30000;
    m.vm.fillPhys(pd2, 0x1000, 0);
    m.pde(0, m.vm.readPhys32(PD) & ~(A | D), pd2);
    m.vm.writePhys32(m.table(256, P | RW | US, pd2), FRAME_Y | P | RW);
    const ptOld = m.vm.readPhys32(PD + 256 * 4) & ~0xfff;
    m.run([...setCr4(CR4_PGE), ...asm.loadEax(LIN), ...setCr3(pd2), ...asm.loadEax(LIN), ...asm.storeEax(out(0))]);
    expect(m.vm.readPhys32(out(0))).toBe(0x1111); // the global entry, kept
    const traps = m.counters.ptWriteTraps;
    // it came from ptOld[0]: writing that entry traps and drops it; pd2's mapping shows through
    m.run([...asm.storeImm(ptOld, 0), ...asm.loadEax(LIN), ...asm.storeEax(out(1))]);
    expect(m.counters.ptWriteTraps).toBe(traps + 1);
    expect(m.vm.readPhys32(out(1))).toBe(0x2222);
    // without PGE nothing survives MOV CR3: the old table is plain memory again
    m.run([...setCr4(0), ...setCr3(pd2), ...asm.storeImm(ptOld + 4, 0)]);
    expect(m.counters.ptWriteTraps).toBe(traps + 1);
  });

  // Two spaces that share global pages, as a kernel's are: most MOV CR3s walk
  // only what was filled since the last one (mmu/shadow.ts quickFlush).
  function twoSpaces(m: PagedMachine): number {
    const pd2 = 0x30000;
    m.vm.fillPhys(pd2, 0x1000, 0);
    m.pde(0, m.vm.readPhys32(PD) & ~(A | D), pd2);
    m.table(256, P | RW | US, pd2);
    m.vm.writePhys32(FRAME_Z, 0x3333);
    return pd2;
  }
  const FRAME_Z = 0x102000;

  it('MOV CR3 back and forth: each space sees its own pages, kept global entries keep their tables protected', () => {
    const m = machine();
    const pd2 = twoSpaces(m);
    m.map(LIN, FRAME_X, P | RW | G);
    m.map(LIN + 0x1000, FRAME_X, P | RW);
    m.map(LIN + 0x1000, FRAME_Y, P | RW, pd2);
    const LIN2 = LIN + 0x400000; // global too, from a table of its own, filled after some flushes
    m.table(257);
    m.map(LIN2, FRAME_X, P | RW | G);
    const code = [...setCr4(CR4_PGE), ...asm.loadEax(LIN)];
    for (let i = 0; i < 3; i++) {
      code.push(...setCr3(pd2), ...asm.loadEax(LIN + 0x1000), ...asm.storeEax(out(2 * i)));
      code.push(...setCr3(PD), ...asm.loadEax(LIN + 0x1000), ...asm.storeEax(out(2 * i + 1)));
    }
    code.push(...asm.loadEax(LIN2), ...setCr3(pd2), ...setCr3(PD));
    m.run(code);
    expect([0, 1, 2, 3, 4, 5].map((i) => m.vm.readPhys32(out(i)))).toEqual([0x2222, 0x1111, 0x2222, 0x1111, 0x2222, 0x1111]);
    const traps = m.counters.ptWriteTraps;
    m.run([
      ...asm.storeImm(m.pteAddr(LIN), FRAME_Z | P | RW | G), ...asm.loadEax(LIN), ...asm.storeEax(out(0)),
      ...asm.storeImm(m.pteAddr(LIN2), FRAME_Y | P | RW | G), ...asm.loadEax(LIN2), ...asm.storeEax(out(1)),
    ]);
    expect(m.counters.ptWriteTraps).toBe(traps + 2);
    expect([m.vm.readPhys32(out(0)), m.vm.readPhys32(out(1))]).toEqual([0x3333, 0x2222]);
    expect(m.counters.flushCr3).toBe(8);
  });

  it('a kept global entry refilled from the other space\'s tables: the next MOV CR3 protects the new table, not the old', () => {
    const m = machine();
    const pd2 = twoSpaces(m);
    m.map(LIN, FRAME_X, P | RW | G);
    m.map(LIN, FRAME_Y, P | RW | G, pd2);
    m.run([
      ...setCr4(CR4_PGE), ...asm.loadEax(LIN), ...setCr3(pd2),
      ...asm.loadEax(LIN), ...asm.storeEax(out(0)),                       // kept from PD's table
      ...asm.invlpg(LIN), ...asm.loadEax(LIN), ...asm.storeEax(out(1)),   // now from pd2's
      ...setCr3(PD), ...asm.loadEax(LIN), ...asm.storeEax(out(2)),        // and kept
    ]);
    expect([0, 1, 2].map((i) => m.vm.readPhys32(out(i)))).toEqual([0x1111, 0x2222, 0x2222]);
    const traps = m.counters.ptWriteTraps;
    m.run([...asm.storeImm(m.pteAddr(LIN), FRAME_Z | P | RW | G)]); // PD's table: nothing live comes from it now
    expect(m.counters.ptWriteTraps).toBe(traps);
    // pd2's table: the entry made from it goes, and PD's new mapping shows
    m.run([...asm.storeImm(m.pteAddr(LIN, pd2), 0), ...asm.loadEax(LIN), ...asm.storeEax(out(3))]);
    expect(m.counters.ptWriteTraps).toBe(traps + 1);
    expect(m.vm.readPhys32(out(3))).toBe(0x3333);
  });

  it('the host writing a live page table: one entry drops exactly, a bulk write flushes', () => {
    const m = machine();
    m.map(LIN, FRAME_X, P | RW);
    m.map(LIN + 0x1000, FRAME_X, P | RW);
    m.run([...asm.loadEax(LIN), ...asm.loadEax(LIN + 0x1000), ...asm.storeEax(out(2))]);
    const full = m.counters.flushFull, fills = m.counters.shadowFills;
    m.vm.writePhys32(m.pteAddr(LIN), FRAME_Y | P | RW);      // as a device or debugger would
    m.run([...asm.loadEax(LIN), ...asm.storeEax(out(0)), ...asm.loadEax(LIN + 0x1000), ...asm.storeEax(out(1))]);
    expect([m.vm.readPhys32(out(0)), m.vm.readPhys32(out(1))]).toEqual([0x2222, 0x1111]);
    expect(m.counters.flushFull).toBe(full);
    expect(m.counters.ptWriteDrops).toBe(1);
    expect(m.counters.shadowFills).toBe(fills + 1);
    m.vm.writePhys(m.pteAddr(LIN), new Uint8Array(16));      // a bulk write over the table
    expect(m.counters.flushFull).toBe(full + 1);
    m.run(asm.loadEax(LIN));
    expect(m.fault).toEqual({ error: 0, cr2: LIN, count: 1 });
  });

  it('code modified through an alias mapping runs as modified', () => {
    const m = machine();
    const fn = 0x105000;
    m.vm.writePhys(fn, Uint8Array.from([...asm.movEaxImm(0x11111111), ...asm.ret]));
    m.map(LIN + 0x10000, fn, P | RW);    // executed here
    m.map(LIN + 0x20000, fn, P | RW);    // written here
    const call = (at: number) => asm.call(at, LIN + 0x10000);
    const code1 = [...asm.movEaxImm(0)];
    const c1 = call(CODE + code1.length);
    const code2 = [...code1, ...c1, ...asm.storeEax(out(0)), ...asm.storeImm(LIN + 0x20001, 0x22222222)];
    const c2 = call(CODE + code2.length);
    m.run([...code2, ...c2, ...asm.storeEax(out(1))]);
    expect([m.vm.readPhys32(out(0)), m.vm.readPhys32(out(1))]).toEqual([0x11111111, 0x22222222]);
    expect(m.counters.codeInvalidations).toBeGreaterThanOrEqual(1);
  });

  it('a page mapped outside RAM goes to MMIO, in both directions', () => {
    const m = machine();
    const seen: string[] = [];
    m.vm.mmio.register({
      name: 'probe',
      read: (off, size) => { seen.push(`r${size}@${off.toString(16)}`); return 0x12345678; },
      write: (off, size, v) => { seen.push(`w${size}@${off.toString(16)}=${v.toString(16)}`); },
    }, 0xfeb00000, 0x1000);
    m.map(LIN + 0x30000, 0xfeb00000, P | RW);
    m.run([...asm.loadEax(LIN + 0x30010), ...asm.storeEax(out(0)), ...asm.storeImm(LIN + 0x30020, 0xabc)]);
    expect(m.vm.readPhys32(out(0))).toBe(0x12345678);
    expect(seen).toEqual(['r4@10', 'w4@20=abc']);
  });

  it('the event stream agrees with the counters', () => {
    const m = machine();
    m.map(LIN, FRAME_X, P | RW);
    const ev = events(m);
    m.run([...asm.loadEax(LIN), ...asm.storeImm(LIN, 3), ...asm.loadEax(LIN + 0x7000)]);
    expect(ev.filter((e) => e.kind === 'fill').length).toBe(m.counters.shadowFills);
    expect(ev.filter((e) => e.kind === 'fault')).toEqual([{ kind: 'fault', lin: LIN + 0x7000, entry: 0, error: 0 }]);
    const fills = ev.filter((e) => e.kind === 'fill' && e.lin === LIN);
    expect(fills.map((e) => e.kind === 'fill' && [e.entry & 0xfff, e.shadow.write])).toEqual([[P | RW | A, 'walk'], [P | RW | A | D, 'direct']]);
  });
});
