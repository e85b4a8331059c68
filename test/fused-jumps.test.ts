// A flag setter followed by a Jcc runs as one case of the run loop (a fused
// pair: opcodes.mjs fuse, run.ts fusePairs), which decides the jump from the
// lazy flags record with its kind and size known. Each pair here is checked
// against SETcc of the same condition right after it (the generic condition
// code), for every condition, at the operands where flags change.
import { describe, it, expect } from 'vitest';
import { Vm } from '../src/vm/vm.js';
import { enterFlat32, le32 } from './support/flat32.js';

const SCRATCH = 0x9000; // ESI: the memory operand
const OUT = 0x300000;   // EDI: two bytes per case (the Jcc's decision, SETcc's)

// the flag setters, with EAX and ECX (and [ESI] = EAX) as operands
const SETTERS: [string, number[]][] = [
  ['cmp eax, ecx', [0x39, 0xc8]],
  ['cmp ecx, eax', [0x3b, 0xc8]],
  ['cmp eax, imm32', [0x3d]],          // the immediate is ECX's value
  ['cmp eax, imm32 (81 /7)', [0x81, 0xf8]],
  ['cmp eax, imm8 (83 /7)', [0x83, 0xf8]],
  ['cmp [esi], ecx', [0x39, 0x0e]],
  ['cmp ecx, [esi]', [0x3b, 0x0e]],
  ['test eax, ecx', [0x85, 0xc8]],
  ['test [esi], ecx', [0x85, 0x0e]],
  ['and eax, ecx', [0x21, 0xc8]],
  ['and eax, imm32', [0x25]],
  ['and eax, imm8 (83 /4)', [0x83, 0xe0]],
  ['inc eax', [0x40]],
  ['dec eax', [0x48]],
  ['inc eax (ff /0)', [0xff, 0xc0]],
  ['dec eax (ff /1)', [0xff, 0xc8]],
  ['inc al', [0xfe, 0xc0]],
  ['dec al', [0xfe, 0xc8]],
  ['shr eax, 1', [0xd1, 0xe8]],
  ['shl eax, 1', [0xd1, 0xe0]],
  ['sar eax, 1', [0xd1, 0xf8]],
  ['sub eax, ecx', [0x29, 0xc8]],       // no twin: the Jcc runs on its own
];
const VALUES = [0, 1, 2, 0x7f, 0x80, 0xff, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff];

interface Case { setter: string; a: number; b: number; cc: number }

/** One case: the setter, Jcc (taken: DL = 1), then SETcc DH of the same condition; DX to [EDI]. */
function caseCode(bytes: number[], a: number, b: number, cc: number, carryIn: boolean): number[] {
  const imm = bytes.length === 1 && (bytes[0] === 0x3d || bytes[0] === 0x25) ? le32(b)
    : bytes[0] === 0x81 ? le32(b) : bytes[0] === 0x83 ? [b & 0xff] : [];
  return [
    0xb8, ...le32(a),            // mov eax, a
    0xb9, ...le32(b),            // mov ecx, b
    0x89, 0x06,                  // mov [esi], eax
    carryIn ? 0xf9 : 0xf8,       // stc / clc: the CF that INC and DEC keep
    ...bytes, ...imm,
    0x70 + cc, 0x04,             // jcc T
    0xb2, 0x00,                  // mov dl, 0
    0xeb, 0x02,                  // jmp E
    0xb2, 0x01,                  // T: mov dl, 1
    0x0f, 0x90 + cc, 0xc6,       // E: setcc dh
    0x66, 0x89, 0x17,            // mov [edi], dx
    0x8d, 0x7f, 0x02,            // lea edi, [edi + 2]
  ];
}

function runAll(jit: boolean): { cases: Case[]; got: number[][]; fused: number } {
  const cases: Case[] = [];
  const code: number[] = [0xbe, ...le32(SCRATCH), 0xbf, ...le32(OUT)]; // mov esi; mov edi
  for (const [setter, bytes] of SETTERS) {
    for (const a of VALUES) {
      for (const b of VALUES) {
        for (let cc = 0; cc < 16; cc++) {
          cases.push({ setter, a, b, cc });
          code.push(...caseCode(bytes, a, b, cc, (a ^ b ^ cc) % 2 === 1));
        }
      }
    }
  }
  code.push(0xf4); // hlt
  const vm = new Vm({ memoryMiB: 4, jit: { on: jit } });
  enterFlat32(vm, code, { eip: 0x20000 });
  vm.run({ maxInstructions: 50_000_000 });
  const out = vm.readPhys(OUT, cases.length * 2);
  const got = cases.map((_, i) => [out[2 * i], out[2 * i + 1]]);
  return { cases, got, fused: vm.vcpus[0].counter('pairsFused') };
}

describe('fused flag setter and Jcc pairs', () => {
  it.each([false, true])('decide every condition as SETcc does (JIT %s)', (jit) => {
    const { cases, got, fused } = runAll(jit);
    const wrong = cases.map((c, i) => `${c.setter} a=${c.a.toString(16)} b=${c.b.toString(16)} cc=${c.cc}: jcc ${got[i][0]} setcc ${got[i][1]}`)
      .filter((_, i) => got[i][0] !== got[i][1]);
    expect(wrong.slice(0, 10)).toEqual([]);
    // every case wrote its pair (the loop ran to the end), and each SETcc is 0 or 1
    expect(got.every(([j, s]) => (j === 0 || j === 1) && (s === 0 || s === 1))).toBe(true);
    // the pairs with a twin were fused when their block was built (not those of SUB)
    if (!jit) expect(fused).toBeGreaterThan(0);
  });
});
