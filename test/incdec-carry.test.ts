// INC and DEC leave CF as the instruction before them set it. The core does
// not compute that CF when they run: the lazy record they replace becomes the
// CF record (assembly/cpu/flags.ts setLazyIncDec), read only when something
// reads CF. Each kind of lazy record (ADD, ADC, SUB, SBB, CMP, NEG, logic,
// shifts, and none: STC/CLC), at each operand size, with CF 0 and 1, then one
// to three INC/DEC of mixed sizes, then SETC: interpreted, and in a loop the
// JIT compiles, where ADC sums the CF of every pass.
import { describe, it, expect } from 'vitest';
import { runFlat32, le32 } from './support/flat32.js';

const M32 = 2 ** 32;
interface Producer { name: string; code: number[]; cf: (a: number, b: number) => number }
const PRODUCERS: Producer[] = [
  { name: 'add eax, ebx', code: [0x01, 0xd8], cf: (a, b) => +(a + b >= M32) },
  { name: 'stc; adc eax, ebx', code: [0xf9, 0x11, 0xd8], cf: (a, b) => +(a + b + 1 >= M32) },
  { name: 'sub eax, ebx', code: [0x29, 0xd8], cf: (a, b) => +(a < b) },
  { name: 'stc; sbb eax, ebx', code: [0xf9, 0x19, 0xd8], cf: (a, b) => +(a <= b) },
  { name: 'cmp eax, ebx', code: [0x39, 0xd8], cf: (a, b) => +(a < b) },
  { name: 'neg eax', code: [0xf7, 0xd8], cf: (a) => +(a !== 0) },
  { name: 'xor eax, ebx', code: [0x31, 0xd8], cf: () => 0 },
  { name: 'shr eax, 1', code: [0xd1, 0xe8], cf: (a) => a & 1 },
  { name: 'shl eax, 1', code: [0xd1, 0xe0], cf: (a) => a >>> 31 },
  { name: 'add al, bl', code: [0x00, 0xd8], cf: (a, b) => +((a & 0xff) + (b & 0xff) >= 0x100) },
  { name: 'sub ax, bx', code: [0x66, 0x29, 0xd8], cf: (a, b) => +((a & 0xffff) < (b & 0xffff)) },
  { name: 'stc', code: [0xf9], cf: () => 1 },
  { name: 'clc', code: [0xf8], cf: () => 0 },
];
const INC_DECS: { name: string; code: number[] }[] = [
  { name: 'inc ecx', code: [0x41] },
  { name: 'dec ecx', code: [0x49] },
  { name: 'inc cl; dec dx', code: [0xfe, 0xc1, 0x66, 0x4a] },
  { name: 'inc ecx; dec ecx; inc edx', code: [0x41, 0x49, 0x42] },
];
// operand pairs giving CF 0 and 1 for the producers above
const PAIRS: [number, number][] = [[0xfffffff0, 0x20], [0x10, 0x20], [0x80000001, 0x7fffffff], [0, 0], [0xff, 0x01], [0x1234, 0x1235]];

const setAB = (a: number, b: number) => [0xb8, ...le32(a), 0xbb, ...le32(b)]; // mov eax, a; mov ebx, b

describe('INC and DEC keep the CF of the record before them', () => {
  it.each(PRODUCERS)('after $name, interpreted: SETC after INC/DEC reads its CF', (p) => {
    for (const [a, b] of PAIRS) {
      for (const s of INC_DECS) {
        // first an ADD of the other CF and an INC (a CF record left from it would show)
        const stale = [...(p.cf(a, b) ? setAB(0, 0) : setAB(0xffffffff, 1)), 0x01, 0xd8, 0x41]; // add eax, ebx; inc ecx
        const code = [...stale, ...setAB(a, b), ...p.code, ...s.code, 0x0f, 0x92, 0xc6, 0xf4]; // ...; setc dh; hlt
        const { end } = runFlat32(code, false);
        expect(end.stop, `${p.name}; ${s.name} (a=${a}, b=${b})`).toBe('halted');
        expect((end.regs[2] >>> 8) & 0xff, `${p.name}; ${s.name} (a=${a}, b=${b})`).toBe(p.cf(a, b));
        expect(end.eflags & 1, `${p.name}; ${s.name}: EFLAGS.CF`).toBe(p.cf(a, b));
      }
    }
  });

  it.each(PRODUCERS)('after $name, in a compiled loop: ADC adds the kept CF on every pass', (p) => {
    for (const [a, b] of PAIRS.slice(0, 3)) {
      const passes = 300;
      const body = [...setAB(a, b), ...p.code, 0x41, 0x4a, 0x83, 0xd6, 0x00]; // ...; inc ecx; dec edx; adc esi, 0
      const code = [
        0xbf, ...le32(passes), 0x31, 0xf6, 0xeb, 0x00, // mov edi, passes; xor esi, esi; jmp L (the loop is a block of its own)
        ...body, 0x4f, 0x75, 0x100 - body.length - 3, // L: body; dec edi; jnz L
        0xeb, 0x00, 0xf4, // jmp H; H: hlt
      ];
      const off = runFlat32(code, false).end;
      const on = runFlat32(code, true).end;
      expect(off.regs[6], `${p.name} (a=${a}, b=${b}) interpreted`).toBe(passes * p.cf(a, b));
      expect(on.regs[6], `${p.name} (a=${a}, b=${b}) compiled`).toBe(passes * p.cf(a, b));
      expect(on.compiled).toBeGreaterThan(0);
      expect(on.eflags).toBe(off.eflags);
    }
  });
});
