// A Jcc whose target is right after the next instruction, when that one is a
// form a Jcc may jump over (opcodes.mjs over: ADD OR AND SUB XOR, MOV and LEA
// of 32-bit registers), runs with no host branch on the guest's condition: the
// Jcc decides, the form runs either way, and its register and lazy flags go
// back when the Jcc jumps (cpu/run.ts jumpsOver). Each form, under every
// condition, taken and not taken, must leave what the same program leaves with
// the form run or left out: registers, EFLAGS after it, and instructions retired.
import { describe, it, expect } from 'vitest';
import { Vm } from '../src/vm/vm.js';
import { enterFlat32, le32 } from './support/flat32.js';

const OUT = 0x300000; // EBP: three dwords per case (EAX, EBX, EFLAGS)

// the forms, on EAX and EBX (E: ModRM r/m, G: ModRM reg)
const FORMS: [string, number[]][] = [];
const ALU = [['add', 0], ['or', 1], ['and', 4], ['sub', 5], ['xor', 6]] as const;
for (const [name, k] of ALU) {
  FORMS.push([`${name} ebx, eax`, [k * 8 + 1, 0xc3]]);            // Ev,Gv: writes EBX
  FORMS.push([`${name} eax, ebx`, [k * 8 + 3, 0xc3]]);            // Gv,Ev: writes EAX
  FORMS.push([`${name} eax, imm32`, [k * 8 + 5, ...le32(0x80000001)]]);
  FORMS.push([`${name} ebx, imm32 (81)`, [0x81, 0xc3 + k * 8, ...le32(0x7ffffff0)]]);
  FORMS.push([`${name} ebx, imm8 (83)`, [0x83, 0xc3 + k * 8, 0xf1]]);
}
FORMS.push(['mov ebx, eax', [0x89, 0xc3]], ['mov eax, ebx', [0x8b, 0xc3]], ['lea eax, [ebx + ebx + 5]', [0x8d, 0x44, 0x1b, 0x05]]);
FORMS.push(['adc eax, ebx (not a form a Jcc jumps over)', [0x13, 0xc3]]);

// CMP ECX, EDX sets the flags the Jcc tests: pairs that make each condition hold and fail
const COMPARES: [number, number][] = [[1, 2], [2, 1], [5, 5], [0x80000000, 1], [0x7fffffff, 0xffffffff], [3, 0]];
const A = 0x12345678, B = 0x9abcdef0;

/** One case: registers, CMP, the Jcc (or none) over the form (or none), then EAX, EBX and EFLAGS to [EBP]. */
function caseCode(form: number[] | null, jcc: number[] | null, c: number, d: number): number[] {
  return [
    0xb8, ...le32(A), 0xbb, ...le32(B), 0xb9, ...le32(c), 0xba, ...le32(d), // mov eax, ebx, ecx, edx
    0x39, 0xd1,                                                          // cmp ecx, edx
    ...(jcc ?? []), ...(form ?? []),
    0x9c, 0x5f,                                                          // pushfd; pop edi
    0x89, 0x45, 0x00, 0x89, 0x5d, 0x04, 0x89, 0x7d, 0x08,                // mov [ebp], eax; [ebp + 4], ebx; [ebp + 8], edi
    0x8d, 0x6d, 0x0c,                                                    // lea ebp, [ebp + 12]
  ];
}

/** The Jcc of condition cc over `len` bytes, short or near. */
const jccOver = (cc: number, len: number, near: boolean) => (near ? [0x0f, 0x80 + cc, ...le32(len)] : [0x70 + cc, len]);

function run(code: number[], cases: number, jit: boolean): { out: number[]; retired: number; over: number } {
  const vm = new Vm({ memoryMiB: 4, jit: { on: jit } });
  enterFlat32(vm, [0xbd, ...le32(OUT), ...code, 0xf4], { eip: 0x20000 }); // mov ebp, OUT; ...; hlt
  vm.run({ maxInstructions: 10_000_000 });
  const bytes = vm.readPhys(OUT, cases * 12);
  const out = Array.from({ length: cases * 3 }, (_, i) => (bytes[4 * i] | bytes[4 * i + 1] << 8 | bytes[4 * i + 2] << 16 | bytes[4 * i + 3] << 24) >>> 0);
  const cpu = vm.vcpus[0];
  return { out, retired: cpu.instructionsRetired, over: cpu.counter('jumpsOver') };
}

// condition cc of EFLAGS f (SDM vol. 2, Jcc)
function holds(cc: number, f: number): boolean {
  const cf = f & 1, pf = (f >> 2) & 1, zf = (f >> 6) & 1, sf = (f >> 7) & 1, of = (f >> 11) & 1;
  const t = [of, cf, zf, cf | zf, sf, pf, sf ^ of, zf | (sf ^ of)][cc >> 1];
  return (t === 1) !== ((cc & 1) === 1);
}

describe('a Jcc over one instruction', () => {
  it.each([[false, false], [false, true], [true, false]])('leaves what the form run or left out leaves, under every condition (near %s, JIT %s)', (near, jit) => {
    for (const [name, form] of FORMS) {
      const conds: [number, number, number][] = [];
      for (let cc = 0; cc < 16; cc++) for (const [c, d] of COMPARES) conds.push([cc, c, d]);
      const over = run(conds.flatMap(([cc, c, d]) => caseCode(form, jccOver(cc, form.length, near), c, d)), conds.length, jit);
      const ran = run(conds.flatMap(([, c, d]) => caseCode(form, null, c, d)), conds.length, jit);
      const left = run(conds.flatMap(([, c, d]) => caseCode(null, null, c, d)), conds.length, jit);
      let taken = 0;
      const wrong: string[] = [];
      conds.forEach(([cc, c, d], i) => {
        const jumps = holds(cc, left.out[3 * i + 2]);
        if (jumps) taken++;
        const want = (jumps ? left : ran).out.slice(3 * i, 3 * i + 3);
        const got = over.out.slice(3 * i, 3 * i + 3);
        if (got.join() !== want.join()) wrong.push(`${name}, cc ${cc}, cmp ${c.toString(16)}, ${d.toString(16)}: ${got.map((v) => v.toString(16))} for ${want.map((v) => v.toString(16))}`);
      });
      expect(wrong.slice(0, 5), name).toEqual([]);
      // every case retired its Jcc, and the form only where the Jcc fell through
      expect(over.retired, name).toBe(ran.retired + conds.length - taken);
      expect(taken, name).toBeGreaterThan(conds.length / 4);
      expect(taken, name).toBeLessThan(conds.length * 3 / 4);
      // decoded as jumps over one instruction (with the JIT, which runs them as Jccs, too)
      if (name.includes('not a form')) expect(over.over, name).toBe(0);
      else expect(over.over, name).toBeGreaterThan(conds.length / 2);
    }
  });
});
