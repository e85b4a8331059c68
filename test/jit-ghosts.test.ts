// The JIT's ghosts (assembly/jit/tier.ts): a block evicted from the block
// cache keeps its hits and its region, and gets them back when it is decoded
// again from the same code. A loop calls 8192 small functions, more blocks than
// the cache has slots, so they evict one another on every pass. After the
// fourth pass it rewrites the immediates of the 256 functions in the first
// page, which makes that page's code new: their ghosts (and blocks) must not
// give back regions compiled from the old bytes.
import { describe, it, expect } from 'vitest';
import { runFlat32, expectCompiledAsInterpreted, le32 } from './support/flat32.js';

const STUBS = 0x10000, COUNT = 8192, PASSES = 6, REWRITE_AFTER = 4;
const inner = [
  0xff, 0xd6,                                 // inner: call esi
  0x83, 0xc6, 0x10,                           // add esi, 16
  0x81, 0xfe, ...le32(STUBS + COUNT * 16),    // cmp esi, end of the functions
];
const rewrite = [
  0x81, 0x87, ...le32(STUBS + 1), ...le32(7), // w: add dword [edi + STUBS + 1], 7 (an immediate)
  0x83, 0xc7, 0x10,                           // add edi, 16
  0x81, 0xff, ...le32(0x1000),                // cmp edi, 4096
];
const afterInner = [
  0x83, 0xf9, PASSES - REWRITE_AFTER + 1,     // cmp ecx, (the pass)
  0x75, 2 + rewrite.length + 2,               // jne skip
  0x31, 0xff,                                 // xor edi, edi
  ...rewrite, 0x72, 0x100 - rewrite.length - 2, // jb w
  0x49,                                       // skip: dec ecx
];
const CODE = [
  0xb9, ...le32(PASSES),                      // mov ecx, PASSES
  0xbe, ...le32(STUBS),                       // outer: mov esi, STUBS
  ...inner, 0x72, 0x100 - inner.length - 2,   // jb inner
  ...afterInner, 0x75, 0x100 - (5 + inner.length + 2 + afterInner.length + 2), // jnz outer
  0xf4,                                       // hlt
];
// function i: add eax, i * 3 + 1; ret (16 bytes apart)
const stubs = Array.from({ length: COUNT }, (_, i) => [0x05, ...le32(i * 3 + 1), 0xc3, ...Array(10).fill(0x90)]).flat();

function run(jit: boolean) {
  const { vm, end } = runFlat32(CODE, jit, (v) => v.writePhys(STUBS, Uint8Array.from(stubs)));
  return { end, stats: vm.core.jit.stats() };
}

describe('JIT: ghosts of evicted blocks', () => {
  it('evicted blocks get their regions back, except from a page written since, and the loop ends as interpreted', () => {
    const off = run(false);
    const on = run(true);
    expectCompiledAsInterpreted(off.end, on.end);
    expect(off.end.stop).toBe('halted');
    // the sum of every call, with the rewritten immediates counted from the pass after each write
    let eax = 0;
    for (let pass = 0; pass < PASSES; pass++) for (let i = 0; i < COUNT; i++) eax += i * 3 + 1;
    eax += 256 * 7 * (PASSES - REWRITE_AFTER); // the rewritten page, in the passes after the rewrite
    expect(off.end.regs[0]).toBe(eax >>> 0);
    expect(on.stats.restored).toBeGreaterThan(COUNT / 4);
  });
});
