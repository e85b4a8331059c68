// The JIT keeps CF in a local across INC/DEC (assembly/jit/region.ts cfIn):
// a shift's CF, or the 0 of an XOR, reaches an INC at a join, stays out of
// EFLAGS around the loop, is read by ADC, and is written back when the region
// leaves, at the loop's end or at a fault. Compiled, the loops end exactly as
// interpreted, EFLAGS included.
import { describe, it, expect } from 'vitest';
import { runFlat32, expectCompiledAsInterpreted, expectLastPassFaulted, le32 } from './support/flat32.js';

const SEEDS = [0x12345678, 0x9abcdef1, 0x0badf00d, 0xcafebabe, 0x31415926, 0x27182818];
const POLY = 0xedb88320;
const head = [
  0xd1, 0xee,                         // L: shr esi, 1
  0x72, 0x06,                         //    jc N (CF = 1 at the join)
  0x81, 0xf6, ...le32(POLY),          //    xor esi, POLY (CF = 0)
  0x43,                               // N: inc ebx (a join: CF from either path)
];
const divide = [
  0x8d, 0x79, 0xff,                   // lea edi, [ecx - 1]
  0x89, 0xd8,                         // mov eax, ebx
  0x99,                               // cdq
  0xf7, 0xff,                         // idiv edi (#DE when ECX = 1, CF still INC's)
  0x83, 0xd3, 0x00,                   // adc ebx, 0 (CF kept by INC)
];

// The number of passes (at least `min`) whose last one shifts a 1 out of ESI:
// the loops then end with CF = 1 held in the local. (Several seeds: what
// EFLAGS' bit 0 held before, which a lost CF would leave, depends on the data.)
function passesEndingWithCarry(seed: number, min: number): number {
  let esi = seed;
  for (let pass = 1; ; pass++) {
    const cf = esi & 1;
    esi >>>= 1;
    if (!cf) esi = (esi ^ POLY) >>> 0;
    if (pass >= min && cf) return pass;
  }
}

function loop(body: number[], seed: number): number[] {
  return [
    0xb9, ...le32(passesEndingWithCarry(seed, 2000)), 0x31, 0xdb, 0xbe, ...le32(seed), // mov ecx, n; xor ebx, ebx; mov esi, seed
    0xeb, 0x00,                                                                // jmp L (the loop is a block of its own)
    ...body, 0x49, 0x75, 0x100 - body.length - 3,                              // dec ecx (CF kept); jnz L
    0xeb, 0x00,                                                                // jmp H (the loop's block has no fallback)
    0xf4,                                                                      // H: hlt, with CF from the last pass
  ];
}
const PROLOGUE = 14;

describe('JIT: CF kept in a local across INC/DEC', () => {
  it.each(SEEDS)('a loop that carries CF through a join, INC and DEC ends with the same registers and EFLAGS (seed %d)', (seed) => {
    const code = loop(head, seed);
    const off = runFlat32(code, false).end;
    expect(off.eflags & 1).toBe(1);
    expectCompiledAsInterpreted(off, runFlat32(code, true).end);
  });

  it.each(SEEDS)('a fault while CF is in the local leaves it in EFLAGS, as interpreted (seed %d)', (seed) => {
    const code = loop([...head, ...divide], seed);
    const off = runFlat32(code, false).end;
    expectCompiledAsInterpreted(off, runFlat32(code, true).end);
    expectLastPassFaulted(off, 0x1000 + PROLOGUE + head.length + divide.length - 5); // #DE at the IDIV
    expect(off.eflags & 1).toBe(1);
  });
});
