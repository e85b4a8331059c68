// The JIT's TLB-miss path (assembly/jit/region.ts tlbCode, tier.ts jitFill):
// with paging on, a memory operand that misses the soft TLB calls the core,
// which walks the guest's tables and fills the entry, and the region goes on.
// A loop that touches a new page on every pass therefore stays compiled (it
// is not demoted for stopping early), and a page fault on a miss inside a
// region, here one that another region chained to, ends exactly as the
// interpreter ends it: same registers, EIP, CR2, count, memory and crash record.
import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { Vm } from '../src/vm/vm.js';
import { enterFlat32, le32, mapIdentity } from './support/flat32.js';

const DIR = 0x10000, TABLE = 0x11000;


function run(code: number[], jit: boolean, present: number, demote: boolean, regs: Record<string, number>, setup: (vm: Vm) => void = () => {}) {
  const vm = new Vm({ memoryMiB: 4, jit: { on: jit, threshold: 2, demote }, sliceInstructions: 1000 });
  const cpu = vm.vcpus[0];
  mapIdentity(vm, DIR, TABLE, (i) => (i < present ? 3 : 0));
  setup(vm);
  enterFlat32(vm, code, { cr0: 0x80000011 });
  cpu.set('cr3', DIR);
  for (const [r, v] of Object.entries(regs)) cpu.setReg(r as 'eax', v);
  vm.core.exports.stateChanged(0);
  const stop = vm.run({ maxInstructions: 2_000_000 });
  return {
    stop, regs: Array.from({ length: 8 }, (_, i) => cpu.gpr(i)), eip: cpu.eip, eflags: cpu.eflags, cr2: cpu.get('cr2'),
    retired: cpu.instructionsRetired, memory: createHash('sha256').update(vm.readPhys(0x100000, 0x300000)).digest('hex'),
    compiled: vm.core.jit.stats().instructions, demoted: vm.core.jit.stats().demoted,
  };
}

describe('JIT: TLB misses inside compiled regions', () => {
  it('a loop touching a new page every pass stays compiled (not demoted) and ends as interpreted', () => {
    // 8 rounds over 256 pages at 1 MiB; each round reloads CR3 (the TLB is empty again)
    const code = [
      0xba, ...le32(8),                          // mov edx, 8
      0xbe, ...le32(0x100000),                   // outer: mov esi, 0x100000
      0xb9, ...le32(256),                        // mov ecx, 256
      0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8,        // mov eax, cr3; mov cr3, eax
      0xeb, 0x00,                                // jmp inner (the loop is a block of its own)
      0x8b, 0x06,                                // inner: mov eax, [esi]
      0x01, 0xc8,                                // add eax, ecx
      0x89, 0x06,                                // mov [esi], eax
      0x01, 0xc3,                                // add ebx, eax
      0x81, 0xc6, ...le32(0x1000),               // add esi, 0x1000
      0x49,                                      // dec ecx
      0x75, 0x100 - 17,                          // jnz inner
      0x4a,                                      // dec edx
      0x75, 0x100 - 38,                          // jnz outer
      0xf4,                                      // hlt
    ];
    const off = run(code, false, 1024, true, {});
    const on = run(code, true, 1024, true, {});
    expect(off.stop.kind).toBe('halted');
    expect(off.compiled).toBe(0);
    expect({ ...on, compiled: 0, demoted: 0 }).toEqual({ ...off, compiled: 0, demoted: 0 });
    // every pass misses the TLB twice (read, then the first write that sets the dirty bit)
    expect(on.demoted).toBe(0);
    expect(on.compiled).toBeGreaterThan(off.retired * 0.9);
  });

  it('a page fault on a miss in a chained region ends exactly as interpreted', () => {
    // block A reads page i from 1 MiB, then jumps to block B (a region A chains to), which writes
    // page i from 2 MiB: not present from 3.75 MiB on, so B faults on its 449th pass (no IDT: shutdown)
    const code = [
      0x8b, 0x06,                                // A: mov eax, [esi]
      0x01, 0xc8,                                // add eax, ecx
      0xeb, 0x00,                                // jmp B
      0x89, 0x07,                                // B: mov [edi], eax
      0x01, 0xc3,                                // add ebx, eax
      0x81, 0xc6, ...le32(0x1000),               // add esi, 0x1000
      0x81, 0xc7, ...le32(0x1000),               // add edi, 0x1000
      0x49,                                      // dec ecx
      0x75, 0x100 - 25,                          // jnz A
      0xf4,                                      // hlt
    ];
    const regs = { ecx: 500, esi: 0x100000, edi: 0x200000 };
    const off = run(code, false, 0x3c0, false, regs);
    const on = run(code, true, 0x3c0, false, regs);
    expect(off.stop).toMatchObject({ kind: 'shutdown', eip: 0x1006 });
    expect(off.cr2).toBe(0x3c0000);
    expect(off.regs[1]).toBe(500 - 448);
    expect(on.compiled).toBeGreaterThan(off.retired / 2);
    expect({ ...on, compiled: 0 }).toEqual({ ...off, compiled: 0 });
  });

  it('an access across a page leaves the region before it: both pages are read and written where the tables map them', () => {
    // linear pages 0x301 and 0x303 map to physical 0x380 and 0x390, so an access that
    // crossed on the host side of the first page would read or write the wrong bytes
    const code = [
      0xbe, ...le32(0x300ffe),                   // mov esi, 0x300ffe
      0xbf, ...le32(0x302ffd),                   // mov edi, 0x302ffd
      0xb9, ...le32(1000),                       // mov ecx, 1000
      0xeb, 0x00,                                // jmp loop (the loop is a block of its own)
      0x45,                                      // loop: inc ebp (run compiled before the region leaves)
      0x8b, 0x06,                                // mov eax, [esi]            (dword across 0x301000)
      0x01, 0xc3,                                // add ebx, eax
      0x0f, 0xb7, 0x56, 0x01,                    // movzx edx, word [esi+1]  (word across it)
      0x01, 0xd3,                                // add ebx, edx
      0x89, 0x07,                                // mov [edi], eax           (dword across 0x303000)
      0x49,                                      // dec ecx
      0x75, 0x100 - 16,                          // jnz loop
      0xf4,                                      // hlt
    ];
    const remap = (vm: Vm) => {
      vm.writePhys(TABLE + 0x301 * 4, Uint8Array.from(le32(0x380000 | 3)));
      vm.writePhys(TABLE + 0x303 * 4, Uint8Array.from(le32(0x390000 | 3)));
      vm.writePhys(0x300ffc, Uint8Array.from([0x11, 0x22, 0x33, 0x44]));
      vm.writePhys(0x301000, Uint8Array.from([0x55, 0x66]));   // what a host-side crossing would read
      vm.writePhys(0x380000, Uint8Array.from([0x77, 0x88]));   // what the guest reads
    };
    const off = run(code, false, 1024, false, {}, remap);
    const on = run(code, true, 1024, false, {}, remap);
    expect(off.stop.kind).toBe('halted');
    expect(off.regs[3]).toBe(((0x88774433 + 0x7744) * 1000) >>> 0); // EBX
    expect({ ...on, compiled: 0 }).toEqual({ ...off, compiled: 0 });
    expect(on.compiled).toBeGreaterThan(900); // each pass's INC EBP
  });
});
