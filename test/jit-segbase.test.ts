// The JIT's FS and GS bases (assembly/jit/region.ts): memory operands with an
// FS or GS override run in compiled regions when those segments span 4 GiB
// with any base (Linux's per-CPU data, thread-local storage). A loop reading
// and writing through both ends exactly as the interpreter ends it, including
// the #GP of its last read, whose offset passes the top of FS although its
// linear address (base + offset, wrapped) lies inside a page.
import { describe, it, expect } from 'vitest';
import { runFlat32, expectCompiledAsInterpreted, expectLastPassFaulted, le32 } from './support/flat32.js';

const body = [
  0x8d, 0x79, 0xfe,                         // lea edi, [ecx - 2] (0xFFFFFFFF when ECX = 1)
  0x64, 0x8b, 0x07,                         // mov eax, fs:[edi]
  0x01, 0xc8,                               // add eax, ecx
  0x65, 0x89, 0x43, 0x04,                   // mov gs:[ebx + 4], eax
  0x65, 0x03, 0x53, 0x04,                   // add edx, gs:[ebx + 4]
  0x83, 0xc3, 0x04,                         // add ebx, 4
  0x81, 0xe3, ...le32(0x3fc),               // and ebx, 0x3FC
  0x64, 0x89, 0x93, ...le32(0x800),         // mov fs:[ebx + 0x800], edx
  0x49,                                     // dec ecx
];
const CODE = [
  0xb9, ...le32(2000), 0x31, 0xdb, 0x31, 0xd2, // mov ecx, 2000; xor ebx, ebx; xor edx, edx
  0x90, 0x90, 0x90, 0x90, 0x90, 0x90,          // 6 nops: 10 instructions before L, as in a pass,
  0xeb, 0x00,                                  // so slices end between passes; jmp L (the loop is a block of its own)
  ...body, 0x75, 0x100 - body.length - 2,      // L: ... jnz L
  0xf4,                                        // hlt
];
const READ_AT = 0x1000 + 17 + 3; // the prologue, then the LEA

function run(jit: boolean) {
  const { vm, end } = runFlat32(CODE, jit, (v) => {
    v.vcpus[0].setSegment('fs', { selector: 0x18, base: 0x3001, limit: 0xffffffff, attr: 0xc093 });
    v.vcpus[0].setSegment('gs', { selector: 0x20, base: 0x6000, limit: 0xffffffff, attr: 0xc093 });
  });
  return { ...end, memory: Array.from(vm.readPhys(0x3000, 0x1000)).concat(Array.from(vm.readPhys(0x6000, 0x400))) };
}

describe('JIT: FS and GS bases', () => {
  it('compiled, the loop ends in the same state as interpreted, at the #GP past the top of FS', () => {
    const off = run(false);
    const on = run(true);
    expectCompiledAsInterpreted(off, on);
    expectLastPassFaulted(off, READ_AT); // #GP
    expect(off.regs[2]).not.toBe(0); // the loop summed what it read through GS
  });
});
