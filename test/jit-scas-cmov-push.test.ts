// The JIT's SCAS, CMOVcc r32, m32 and PUSH r/m32 emitters (assembly/jit/region.ts):
// Linux's decompressor ran a plain SCASB 1.5M times and the rest of its boot
// CMOVcc from memory and PUSH r/m32 some 0.5M times, each a call into the
// interpreter that also kept its region from chaining and looping. A loop of
// them runs compiled and ends exactly as interpreted, with EFLAGS.DF clear and set.
import { describe, it } from 'vitest';
import { runFlat32, expectCompiledAsInterpreted, le32 } from './support/flat32.js';

const DATA = 0x5000;
const body = [
  0xbf, ...le32(DATA + 0x100),        // mov edi, DATA + 0x100
  0x89, 0xc8,                         // mov eax, ecx
  0xae,                               // scasb (AL against [EDI]; EDI +/- 1)
  0x83, 0xd3, 0x00,                   // adc ebx, 0 (its CF)
  0x0f, 0x94, 0xc2,                   // setz dl
  0x01, 0xd3,                         // add ebx, edx
  0xaf,                               // scasd (EAX against [EDI]; EDI +/- 4)
  0x83, 0xd3, 0x00,                   // adc ebx, 0
  0x01, 0xfb,                         // add ebx, edi
  0x81, 0xf9, ...le32(1000),          // cmp ecx, 1000
  0x0f, 0x42, 0x17,                   // cmovb edx, [edi]
  0x01, 0xd3,                         // add ebx, edx
  0x0f, 0x43, 0x77, 0x04,             // cmovae esi, [edi + 4]
  0x01, 0xf3,                         // add ebx, esi
  0xff, 0x37,                         // push dword [edi]
  0x58,                               // pop eax
  0x01, 0xc3,                         // add ebx, eax
  0xff, 0x74, 0x24, 0xfc,             // push dword [esp - 4] (the value just popped: its address is ESP's before the push)
  0x5a,                               // pop edx
  0x31, 0xd3,                         // xor ebx, edx
  0x49,                               // dec ecx
];
const code = (df: boolean) => [
  ...(df ? [0xfd] : []),                                    // std
  0xb9, ...le32(2000), 0x31, 0xdb, 0x31, 0xd2, 0x31, 0xf6, // mov ecx, 2000; xor ebx, ebx; xor edx, edx; xor esi, esi
  0xeb, 0x00,                                              // jmp L (the loop is a block of its own)
  ...body, 0x75, 0x100 - body.length - 2,                  // L: ... jnz L
  0xf4,                                                    // hlt
];

function run(df: boolean, jit: boolean) {
  return runFlat32(code(df), jit, (vm) => {
    // bytes whose values the low byte of ECX meets now and then, so SCAS's ZF and CF vary
    vm.writePhys(DATA, Uint8Array.from({ length: 0x200 }, (_, i) => (i * 37) & 0xff));
  }).end;
}

describe('JIT: SCAS, CMOVcc from memory, PUSH r/m32', () => {
  for (const df of [false, true]) {
    it(`compiled, the loop ends in the same state as interpreted (DF ${df ? 'set' : 'clear'})`, () => {
      const off = run(df, false);
      const on = run(df, true);
      expectCompiledAsInterpreted(off, on);
    });
  }
});
