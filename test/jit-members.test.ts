// A region takes in the blocks of its page that its branches and its end lead
// to (assembly/jit/region.ts extendRegion), so a branch between them is a
// wasm branch instead of an exit. A loop over an if/else (three blocks) runs
// as one compiled region and ends exactly as interpreted, in slices of the
// budget that end inside it; on its last pass a DIV in a block taken in
// would raise #DE: the region leaves before it (resume AT_EIP) and the
// interpreter raises the fault there, reported with that instruction's bytes.
import { describe, it, expect } from 'vitest';
import { runFlat32, expectCompiledAsInterpreted, expectLastPassFaulted, le32 } from './support/flat32.js';

const body = [
  0x89, 0xc8,       // L: mov eax, ecx
  0x83, 0xe0, 0x01, //    and eax, 1
  0x74, 0x05,       //    jz E
  0x83, 0xc3, 0x03, //    add ebx, 3
  0xeb, 0x03,       //    jmp J
  0x83, 0xc3, 0x05, // E: add ebx, 5
  0x89, 0xd8,       // J: mov eax, ebx
  0x31, 0xd2,       //    xor edx, edx
  0x8d, 0x71, 0xff, //    lea esi, [ecx-1]: 0 on the last pass
  0xf7, 0xf6,       //    div esi
  0x01, 0xc7,       //    add edi, eax
  0x49,             //    dec ecx
];
const START = 0x1000 + 9; // (enterFlat32's code address) after mov ecx / xor ebx / jmp
const DIV = START + body.indexOf(0xf7);
const CODE = [
  0xb9, ...le32(3000), 0x31, 0xdb, // mov ecx, 3000; xor ebx, ebx
  0xeb, 0x00,                      // jmp L (the loop starts a block)
  ...body, 0x75, 0x100 - body.length - 2, // jnz L
  0xf4,                            // hlt
];

describe('JIT: blocks taken into a region', () => {
  it('a loop over an if/else is one region; it ends as interpreted, its last DIV (#DE) left to the interpreter', () => {
    const off = runFlat32(CODE, false).end;
    expectLastPassFaulted(off, DIV);
    const { vm, end: on } = runFlat32(CODE, true);
    expectCompiledAsInterpreted(off, on);
    expect(vm.core.jit.stats().members).toBeGreaterThan(0);
    expect(on.compiled).toBeGreaterThan(0.9 * off.retired);
  });
});

/** Run to the budget's stop inside the loops (1M), JIT off and on: the same end, nearly all of it compiled, blocks taken in. */
function expectLoopsAsInterpreted(code: number[]): void {
  const off = runFlat32(code, false).end;
  expect(off.retired).toBe(1_000_000); // stopped inside the loop
  const { vm, end: on } = runFlat32(code, true);
  expectCompiledAsInterpreted(off, on);
  expect(vm.core.jit.stats().members).toBeGreaterThan(0);
  expect(on.compiled).toBeGreaterThan(0.9 * off.retired);
}

// A loop inside a region whose head is a block taken in, not the region's
// first record: its branch back goes round a wasm loop to that record
// (region.ts bodyCode, `backs`), where it left the region before. The heads
// read the flags first (ADC: EFLAGS whole at the join; DEC: CF only); an
// outer loop enters the region again and again, slices of 1000 instructions
// end inside the loops, and the run ends inside one (maxInstructions 1M) so
// that a pass past the budget would show.
const PASSES = 4000;
const closedByJnz = (head: number[]) => [
  0xbe, ...le32(PASSES), 0x31, 0xdb, 0x31, 0xd2, // mov esi, PASSES; xor ebx, ebx; xor edx, edx
  0xeb, 0x00,                                // jmp A (A starts a block)
  0xb9, ...le32(37),                         // A: mov ecx, 37
  0x85, 0xc9,                                //    test ecx, ecx (flags known on the way in)
  0xeb, 0x00,                                //    jmp L
  ...head,                                   // L: (reads the flags first)
  0x89, 0xc8,                                //    mov eax, ecx
  0x83, 0xe0, 0x03,                          //    and eax, 3
  0x74, 0x05,                                //    jz E
  0x01, 0xc3,                                //    add ebx, eax
  0x83, 0xf8, 0x02,                          //    cmp eax, 2 (CF: eax < 2)
  0x83, 0xc3, 0x07,                          // E: add ebx, 7 (CF from it on this path)
  0x49,                                      //    dec ecx (CF kept)
  0x75, 0x100 - head.length - 18,            //    jnz L
  0x4e,                                      //    dec esi
  0x75, 0x100 - head.length - 30,            //    jnz A
  0xf4,                                      //    hlt
];
// Closed by a JMP after a join whose flags went to the state unmaterialized:
// the head reads them first, so this branch back leaves the region instead.
const closedByJmp = [
  0xbe, ...le32(PASSES), 0x31, 0xdb, 0x31, 0xd2, // mov esi, PASSES; xor ebx, ebx; xor edx, edx
  0xeb, 0x00,                                // jmp A
  0xb9, ...le32(37),                         // A: mov ecx, 37
  0x85, 0xc9,                                //    test ecx, ecx (flags known on the way in)
  0xeb, 0x00,                                //    jmp L
  0x11, 0xd3,                                // L: adc ebx, edx
  0x49,                                      //    dec ecx
  0x74, 0x15,                                //    jz OUT
  0x89, 0xc8,                                //    mov eax, ecx
  0x83, 0xe0, 0x03,                          //    and eax, 3
  0x74, 0x07,                                //    jz E
  0x01, 0xc3,                                //    add ebx, eax
  0x83, 0xf8, 0x02,                          //    cmp eax, 2
  0xeb, 0x03,                                //    jmp J
  0x83, 0xc3, 0x07,                          // E: add ebx, 7
  0x89, 0xc2,                                // J: mov edx, eax
  0xeb, 0xe6,                                //    jmp L
  0x4e,                                      // OUT: dec esi
  0x75, 0xda,                                //    jnz A
  0xf4,                                      //    hlt
];

describe('JIT: a loop whose head is a block taken in', () => {
  const cases: [string, number[]][] = [
    ['adc ebx, edx at its head, closed by jnz', closedByJnz([0x11, 0xd3])],
    ['dec edx at its head, closed by jnz', closedByJnz([0x4a])],
    ['adc ebx, edx at its head, closed by jmp after a join', closedByJmp],
  ];
  for (const [name, code] of cases) it(`${name}: ends as interpreted`, () => expectLoopsAsInterpreted(code));
});

// Hand assembly with labels: a string names the next byte's address, [op, 'L']
// is a short jump (op: EB, or 7x for Jcc) to label L.
function assemble(parts: (number[] | string | [number, string])[]): number[] {
  const at = new Map<string, number>();
  const size = (p: number[] | [number, string]) => (typeof p[1] === 'string' ? 2 : p.length);
  let n = 0;
  for (const p of parts) if (typeof p === 'string') at.set(p, n); else n += size(p);
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'string') continue;
    if (typeof p[1] === 'string') { const d = at.get(p[1])! - (out.length + 2); out.push(p[0] as number, d & 0xff); } else out.push(...(p as number[]));
  }
  return out;
}
// The CRC-32 bit loop entered at its join (.nox): the region's first record,
// reached again from two flag states (after SHR when CF = 1, after XOR, or
// after a NEG that sets CF).
// With an INC/DEC at the top (reads only CF) both branches leave CF in a
// local; with an ADC there, the second state goes round pass 0 again (region.ts
// AGAIN_LABEL) where it left the region before.
const crcAtJoin = (top: number[], neg: boolean) => assemble([
  [0xb9, ...le32(5 * PASSES)], [0xb8, ...le32(0x12345678)], [0x31, 0xdb], [0x31, 0xf6], [0xbf, ...le32(5)], [0xb2, 0x08], [0xeb, 'nox'],
  'nox', top,
  [0x75, 'bit'],           // jne bit
  [0xb2, 0x08], [0x49],    // mov dl, 8; dec ecx
  [0x75, 'bit'], [0xeb, 'done'], // jne bit; jmp done (the block has emitters only)
  'bit', [0xd1, 0xe8],     // shr eax, 1
  [0x72, 'nox'],           // jb nox
  [0x35, ...le32(0xedb88320)], // xor eax, 0EDB88320h
  neg ? [0xf7, 0xdf] : [], // neg edi (CF = 1: edi is never 0)
  [0xeb, 'nox'],           // jmp nox
  'done', [0xf4],          // hlt
]);

describe('JIT: branches back to the first record with two flag states', () => {
  const cases: [string, number[]][] = [
    // dec dl; setc bh (CF from before the DEC); lea esi, [esi+ebx]
    ['dec dl at the top', crcAtJoin([0xfe, 0xca, 0x0f, 0x92, 0xc7, 0x8d, 0x34, 0x1e], false)],
    // adc ebx, 0; dec dl
    ['adc ebx, 0 at the top', crcAtJoin([0x83, 0xd3, 0x00, 0xfe, 0xca], true)],
  ];
  for (const [name, code] of cases) it(`${name}: ends as interpreted`, () => expectLoopsAsInterpreted(code));
});

describe('JIT: loops inside a region', () => {
  const cases: [string, number[]][] = [
    // two loop heads taken in (an outer loop and the inner one): the branches
    // back name their record, and the loop's top goes on at that one
    ['two loop heads', assemble([
      [0x31, 0xdb], [0xbf, ...le32(3 * PASSES)], [0xeb, 'a'], // xor ebx, ebx; mov edi, 3 * PASSES; jmp a
      'a', [0xbe, ...le32(5)], [0xeb, 'outer'],          // a: mov esi, 5; jmp outer
      'outer', [0xb9, ...le32(7)], [0xeb, 'inner'],      // outer: mov ecx, 7; jmp inner
      'inner', [0x01, 0xcb], [0x49], [0x75, 'inner'],    // inner: add ebx, ecx; dec ecx; jnz inner
      [0x4e], [0x75, 'outer'],                           // dec esi; jnz outer
      [0x4f], [0x75, 'a'], [0xeb, 'done'],               // dec edi; jnz a; jmp done
      'done', [0xf4],
    ])],
    // a loop head that does not read the flags, joined from a path whose flags
    // are whole in EFLAGS (after SHR) and from the branch back (DEC's, lazy):
    // the JZ after it must not take ZF from EFLAGS as if both were whole
    ['a head that does not read the flags', assemble([
      [0x31, 0xdb], [0x31, 0xd2], [0xbe, ...le32(2 * PASSES)], [0xeb, 'a'], // xor ebx, ebx; xor edx, edx; mov esi, 2 * PASSES
      'a', [0xb9, ...le32(37)], [0xd1, 0xea], [0xeb, 'l'], // a: mov ecx, 37; shr edx, 1 (ZF = 1); jmp l
      'l', [0x89, 0xc8], [0xeb, 'm'],                    // l: mov eax, ecx; jmp m
      'm', [0x74, 'z'], [0x01, 0xc3],                    // m: jz z; add ebx, eax
      'z', [0x49], [0x75, 'l'],                          // z: dec ecx; jnz l
      [0x4e], [0x75, 'a'], [0xeb, 'done'],               // dec esi; jnz a; jmp done
      'done', [0xf4],
    ])],
  ];
  for (const [name, code] of cases) it(`${name}: ends as interpreted`, () => expectLoopsAsInterpreted(code));
});
