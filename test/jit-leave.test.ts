// The JIT's LEAVE emitter (assembly/jit/region.ts): a function-like loop
// (PUSH EBP / MOV EBP, ESP / ... / LEAVE) runs in its compiled region and
// ends as interpreted; on its last pass LEAVE reads outside RAM, so the region
// leaves before it, with ESP not yet changed, and the interpreter does the
// MMIO read.
import { describe, it, expect } from 'vitest';
import { runFlat32, expectCompiledAsInterpreted, le32 } from './support/flat32.js';

const OUTSIDE_RAM = 0x200000; // the VM has 2 MiB
const body = [
  0x55,                               // L: push ebp
  0x89, 0xe5,                         //    mov ebp, esp
  0x01, 0xcb,                         //    add ebx, ecx
  0x83, 0xf9, 0x01,                   //    cmp ecx, 1
  0x75, 0x05,                         //    jne N
  0xbd, ...le32(OUTSIDE_RAM),         //    mov ebp, OUTSIDE_RAM (the last pass)
  0xc9,                               // N: leave
  0x49,                               //    dec ecx
];
const CODE = [
  0xb9, ...le32(3000), 0x31, 0xdb,    // mov ecx, 3000; xor ebx, ebx
  0xbc, ...le32(0x8000), 0x31, 0xed,  // mov esp, 0x8000; xor ebp, ebp
  0xeb, 0x00,                         // jmp L (the loop is a block of its own)
  ...body, 0x75, 0x100 - body.length - 2, // jnz L
  0xf4,                               // hlt
];

describe('JIT: LEAVE', () => {
  it('compiled, the loop ends as interpreted, its last LEAVE (outside RAM) left to the interpreter', () => {
    const off = runFlat32(CODE, false).end;
    expect(off.stop).toBe('halted');
    expect(off.regs[4]).toBe(OUTSIDE_RAM + 4); // ESP: the last LEAVE's
    expectCompiledAsInterpreted(off, runFlat32(CODE, true).end);
  });
});
