// Unaligned accesses that cross a page boundary go byte by byte through both
// frames. (A write used to put its bytes at the wrong offsets in the first
// page, which corrupted the XZ BCJ filter's call fix-ups in Linux's decompressor.)
import { describe, it, expect } from 'vitest';
import { createMachine } from '../src/machine.js';
import { loadMultiboot } from '../src/loader/multiboot.js';
import { kludgeImage } from './support/image.js';

describe('accesses across a page boundary', () => {
  it('read-modify-write of a dword at page offset 0xFFD, and a word at 0xFFF', () => {
    // mov dword [0x300FFC], 0x03020100; mov dword [0x301000], 0x07060504
    // mov esi, 0x300FFD; mov eax, [esi]; add eax, 0x10101010; mov [esi], eax
    // mov word [0x301FFF], 0xBBAA; hlt
    const code = [
      0xc7, 0x05, 0xfc, 0x0f, 0x30, 0x00, 0x00, 0x01, 0x02, 0x03, 0xc7, 0x05, 0x00, 0x10, 0x30, 0x00, 0x04, 0x05,
      0x06, 0x07, 0xbe, 0xfd, 0x0f, 0x30, 0x00, 0x8b, 0x06, 0x05, 0x10, 0x10, 0x10, 0x10, 0x89, 0x06, 0x66, 0xc7,
      0x05, 0xff, 0x1f, 0x30, 0x00, 0xaa, 0xbb, 0xf4,
    ];
    const m = createMachine({ memoryMiB: 8 });
    loadMultiboot(m.vm, kludgeImage(code), 'test');
    expect(m.vm.run({ maxInstructions: 100 }).kind).toBe('halted');
    expect(m.vm.vcpus[0].reg('eax')).toBe(0x14131211);
    expect([...m.vm.readPhys(0x300ffc, 8)]).toEqual([0x00, 0x11, 0x12, 0x13, 0x14, 0x05, 0x06, 0x07]);
    expect([...m.vm.readPhys(0x301fff, 2)]).toEqual([0xaa, 0xbb]);
  });
});
