// The JIT's MOVS, STOS and CMPS emitters (no REP; assembly/jit/region.ts):
// Linux's decompressor ran some 290k of them through the interpreter (CMPSB
// 87k, MOVSD 50k, MOVSB 38k, STOSD 31k), each a call that also kept its region
// from chaining. A loop of them, with an FS override (a based segment) and word forms, runs
// compiled and ends exactly as interpreted, with EFLAGS.DF clear and set.
import { describe, it, expect } from 'vitest';
import { runFlat32, expectCompiledAsInterpreted, le32 } from './support/flat32.js';

const DATA = 0x5000, COPY = 0x6000;
const addDl = [0x01, 0xd3];                    // add ebx, edx
const body = [
  0xbe, ...le32(DATA + 0x200),                 // mov esi, DATA + 0x200
  0xbf, ...le32(COPY + 0x200),                 // mov edi, COPY + 0x200
  0x01, 0xce,                                  // add esi, ecx (a moving window)
  0xa5,                                        // movsd
  0xa4,                                        // movsb
  0x66, 0xa5,                                  // movsw
  0x64, 0xa4,                                  // movsb fs:[esi] (FS's base is 0x10: the read is 16 bytes on)
  0x89, 0xc8,                                  // mov eax, ecx
  0xab,                                        // stosd
  0xaa,                                        // stosb
  0x66, 0xab,                                  // stosw
  0x29, 0xfe,                                  // sub esi, edi (ESI - EDI: the bytes copied against the source)
  0x01, 0xf3,                                  // add ebx, esi
  0xbe, ...le32(DATA + 0x100),                 // mov esi, DATA + 0x100
  0xbf, ...le32(DATA + 0x180),                 // mov edi, DATA + 0x180
  0x01, 0xce, 0x01, 0xcf,                      // add esi, ecx; add edi, ecx
  0xa6,                                        // cmpsb
  0x83, 0xd3, 0x00,                            // adc ebx, 0 (its CF)
  0x0f, 0x94, 0xc2, ...addDl,                  // setz dl
  0xa7,                                        // cmpsd
  0x0f, 0x9c, 0xc2, ...addDl,                  // setl dl
  0x0f, 0x90, 0xc2, ...addDl,                  // seto dl
  0x01, 0xfb,                                  // add ebx, edi
  0x49,                                        // dec ecx
];
const code = (df: boolean) => [
  ...(df ? [0xfd] : []),                                    // std
  0xb9, ...le32(600), 0x31, 0xdb, 0x31, 0xd2,              // mov ecx, 600; xor ebx, ebx; xor edx, edx
  0xeb, 0x00,                                              // jmp L (the loop is a block of its own)
  ...body, 0x0f, 0x85, ...le32(-(body.length + 6)),        // L: ... jnz L
  0xf4,                                                    // hlt
];

function run(df: boolean, jit: boolean) {
  const { vm, end } = runFlat32(code(df), jit, (v) => {
    v.vcpus[0].setSegment('fs', { selector: 0x10, base: 0x10, limit: 0xffffffff, attr: 0xc093 });
    // bytes that repeat now and then, so CMPS's ZF, CF, SF and OF vary
    v.writePhys(DATA, Uint8Array.from({ length: 0x800 }, (_, i) => (i * 29 + (i >> 5)) & 0x7f));
  });
  return { end, copy: vm.readPhys(COPY, 0x800) };
}

describe('JIT: MOVS, STOS, CMPS', () => {
  for (const df of [false, true]) {
    it(`compiled, the loop ends in the same state and memory as interpreted (DF ${df ? 'set' : 'clear'})`, () => {
      const off = run(df, false);
      const on = run(df, true);
      expectCompiledAsInterpreted(off.end, on.end);
      expect(on.copy).toEqual(off.copy);
    });
  }
});
