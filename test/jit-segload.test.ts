// A segment load inside a compiled region (assembly/jit/region.ts
// fallbackCode): LDS, LES, LFS, LGS and POP of a data segment run as
// fallbacks and do not end the block, but the region's entry guard checked
// the old segment (flat, base 0) and keeps FS/GS bases in locals. The region
// must leave after such a load, so the memory operands after it use the new
// segment as the interpreter does. (The differential fuzzer found this: seed 5026.)
import { describe, it, expect } from 'vitest';
import { runFlat32, le32 } from './support/flat32.js';

const GDT = 0x4000;
const CODE = [
  0xb9, ...le32(300),                       // mov ecx, 300
  0x31, 0xd2,                               // xor edx, edx
  0xeb, 0x00,                               // jmp L (the loop is a block of its own)
  0xc5, 0x1d, ...le32(0x3000),              // L: lds ebx, [0x3000] (offset 0x100, selector 0x18: base 0x2000)
  0x8b, 0x03,                               // mov eax, [ebx]: linear 0x2100
  0x01, 0xc2,                               // add edx, eax
  0x6a, 0x10,                               // push 0x10
  0x1f,                                     // pop ds (flat again)
  0x49,                                     // dec ecx
  0x75, 0x100 - 16,                         // jnz L
  0xf4,                                     // hlt
];

function run(jit: boolean) {
  const { end } = runFlat32(CODE, jit, (vm) => {
    const gdt = [
      0, 0, 0, 0, 0, 0, 0, 0,
      0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0,   // 0x08: flat code
      0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0,   // 0x10: flat data
      0xff, 0xff, 0, 0x20, 0, 0x93, 0xcf, 0, // 0x18: data at base 0x2000
    ];
    vm.writePhys(GDT, Uint8Array.from(gdt));
    vm.vcpus[0].set('gdtrBase', GDT);
    vm.vcpus[0].set('gdtrLimit', gdt.length - 1);
    vm.writePhys(0x3000, Uint8Array.from([...le32(0x100), 0x18, 0]));
    vm.writePhys(0x100, Uint8Array.from(le32(0x1111)));
    vm.writePhys(0x2100, Uint8Array.from(le32(0x2222)));
  });
  return end;
}

describe('JIT: segment loads inside a region', () => {
  it('a memory operand after LDS uses the loaded segment, compiled as interpreted', () => {
    const off = run(false);
    const on = run(true);
    expect(off.stop).toBe('halted');
    expect(off.regs[2]).toBe(300 * 0x2222);
    expect(on.compiled).toBeGreaterThan(0);
    expect({ ...on, compiled: 0 }).toEqual(off);
  });
});
