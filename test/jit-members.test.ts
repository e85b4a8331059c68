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
