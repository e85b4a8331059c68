// Shifts by CL in a region (assembly/jit/region.ts calls the core's jitShift):
// SHL/SHR/SAR leave the interpreter's lazy Shift record and a rotate leaves
// EFLAGS, and a count of 0 leaves the flags of the instruction before. The
// region must read each as it is left: a loop of shifts by every count, each
// followed by the flags it set, ends exactly as interpreted.
import { describe, it } from 'vitest';
import { runFlat32, expectCompiledAsInterpreted, le32 } from './support/flat32.js';

const addDl = [0x01, 0xd3];                     // add ebx, edx
const flagsRead = [
  0x83, 0xd3, 0x00,                             // adc ebx, 0 (CF)
  0x0f, 0x90, 0xc2, ...addDl,                   // seto dl
  0x0f, 0x94, 0xc2, ...addDl,                   // setz dl
  0x0f, 0x98, 0xc2, ...addDl,                   // sets dl
  0x0f, 0x9a, 0xc2, ...addDl,                   // setp dl
  0x01, 0xc3,                                   // add ebx, eax (the result)
];
const shiftOf = (modrm: number, byte = false) => [
  0x89, 0xf8,                                   // mov eax, edi
  0x39, 0xf7,                                   // cmp edi, esi (the flags a count of 0 keeps)
  byte ? 0xd2 : 0xd3, modrm,                    // shl/shr/sar/rol eax (or al), cl
  ...flagsRead,
];
const body = [
  0x89, 0xf1,                                   // mov ecx, esi (counts 0-31, and past 31 masked)
  ...shiftOf(0xe0), ...shiftOf(0xe8), ...shiftOf(0xf8), ...shiftOf(0xc0), ...shiftOf(0xe0, true),
  0x9c, 0x58, 0x01, 0xc3,                       // pushf; pop eax; add ebx, eax
  0x69, 0xff, ...le32(0x9e3779b1),              // imul edi, edi, 0x9E3779B1
  0x01, 0xf7,                                   // add edi, esi
  0x4e,                                         // dec esi
];
const code = [
  0xbe, ...le32(300), 0xbf, ...le32(0x80000001), // mov esi, 300; mov edi, 0x80000001
  0x31, 0xdb, 0x31, 0xd2,                       // xor ebx, ebx; xor edx, edx
  0xeb, 0x00,                                   // jmp L (the loop is a block of its own)
  ...body, 0x0f, 0x85, ...le32(-(body.length + 6)), // L: ... jnz L
  0xf4,                                         // hlt
];

describe('JIT: shifts and rotates by CL', () => {
  it('compiled, the loop ends in the same state as interpreted', () => {
    expectCompiledAsInterpreted(runFlat32(code, false).end, runFlat32(code, true).end);
  });
});
