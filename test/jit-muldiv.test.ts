// The JIT's MUL/IMUL/DIV/IDIV r/m32 emitters, its word MOV and shift forms
// and its deferred shift flags (assembly/jit/region.ts): a loop that
// multiplies, divides, moves words and feeds shifts' CF to ADC runs in compiled regions and ends exactly as the
// interpreter ends it, including the #DE its last IDIV raises (divisor 0).
import { describe, it } from 'vitest';
import { runFlat32, expectCompiledAsInterpreted, expectLastPassFaulted, le32 } from './support/flat32.js';

const body = [
  0x89, 0xf0,                         // mov eax, esi
  0x69, 0xf6, ...le32(0x41c64e6d),    // imul esi, esi, 0x41C64E6D
  0x81, 0xc6, ...le32(12345),         // add esi, 12345
  0xf7, 0xe1,                         // mul ecx
  0x01, 0xd3,                         // add ebx, edx
  0xc1, 0xe8, 0x03,                   // shr eax, 3
  0x11, 0xc3,                         // adc ebx, eax (CF of the shift)
  0x89, 0xf0,                         // mov eax, esi
  0x99,                               // cdq
  0x8d, 0x79, 0xff,                   // lea edi, [ecx - 1]
  0xf7, 0xff,                         // idiv edi (#DE when ECX = 1)
  0x01, 0xd3,                         // add ebx, edx
  0x31, 0xd2,                         // xor edx, edx
  0x89, 0xf0,                         // mov eax, esi
  0xf7, 0xf1,                         // div ecx
  0x01, 0xc3,                         // add ebx, eax
  0xf7, 0xeb,                         // imul ebx
  0x31, 0xd3,                         // xor ebx, edx
  0x66, 0x89, 0x05, ...le32(0x5000),  // mov [0x5000], ax
  0x66, 0xc1, 0xe0, 0x03,             // shl ax, 3
  0x83, 0xd3, 0x00,                   // adc ebx, 0 (CF of the word shift)
  0x66, 0x8b, 0x15, ...le32(0x5000),  // mov dx, [0x5000]
  0x66, 0xc1, 0xfa, 0x05,             // sar dx, 5
  0x01, 0xd3,                         // add ebx, edx
  0x49,                               // dec ecx
];
const CODE = [
  0xb9, ...le32(2000), 0x31, 0xdb, 0xbe, ...le32(0x12345), // mov ecx, 2000; xor ebx, ebx; mov esi, 0x12345
  0xeb, 0x00,                                              // jmp L (the loop is a block of its own)
  ...body, 0x75, 0x100 - body.length - 2,                  // L: ... jnz L
  0xf4,                                                    // hlt
];
const PROLOGUE = 14; // the bytes before L
const IDIV_AT = 0x1000 + PROLOGUE + body.findIndex((b, i) => b === 0xf7 && body[i + 1] === 0xff);

function run(jit: boolean) {
  return runFlat32(CODE, jit).end;
}

describe('JIT: multiply, divide and shift flags', () => {
  it('compiled, the loop ends in the same state as interpreted, at the #DE of its last IDIV', () => {
    const off = run(false);
    const on = run(true);
    expectCompiledAsInterpreted(off, on);
    expectLastPassFaulted(off, IDIV_AT); // #DE
  });
});
