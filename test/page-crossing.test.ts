// Unaligned accesses that cross a page boundary go byte by byte through both
// frames. (A write used to put its bytes at the wrong offsets in the first
// page, which corrupted the XZ BCJ filter's call fix-ups in Linux's decompressor.)
import { describe, it, expect } from 'vitest';
import { createMachine } from '../src/machine.js';
import { loadMultiboot } from '../src/loader/multiboot.js';
import { kludgeImage } from './support/image.js';
import { PagedMachine, asm, CODE, P, RW } from './support/paged-machine.js';
import { ExitReason } from '../src/core/layout.js';

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

// An instruction that runs into the next page is a block of its own, cached
// while the next linear page maps the same physical page with the same bytes.
// (Linux unpacking its initramfs ran such an instruction in a hot loop, and
// decoded it again on every pass: 585k decodes in 120M instructions.)
describe('an instruction that runs into the next page', () => {
  // mov ecx, 3000 at 0x30FF8; .loop: add eax, imm32 at 0x30FFD (its last two
  // immediate bytes are in page 0x31000); dec ecx; jnz .loop; hlt
  const AT = 0x30ff8, TAIL = 0x31000;
  const loop = [0xb9, 0xb8, 0x0b, 0x00, 0x00, 0x05, 0x01, 0x00, 0x00, 0x00, 0x49, 0x75, 0xf8];
  const tail = [0x00, 0x00, 0x49, 0x75, 0xf8, 0xf4]; // what page 0x31000 holds of it

  it('is decoded once, not on every pass, and sees a new mapping of the next page and a write to it', () => {
    const m = new PagedMachine();
    // another frame for the next linear page (written now, before any of it is code:
    // its generation is the one the first frame has when the loop is decoded),
    // whose tail adds 0x00020001
    const OTHER = 0x32000;
    m.vm.writePhys(OTHER, Uint8Array.from([0x02, ...tail.slice(1)]));
    m.cpu.setReg('eax', 0);
    let decoded = m.counters.blocksDecoded;
    expect(m.run(loop, AT)).toBe('hlt');
    expect(m.counters.blocksDecoded - decoded).toBeLessThan(20);
    expect(m.cpu.reg('eax')).toBe(3000);

    // the loop again, as it is in memory now
    const again = (): number => {
      m.cpu.setReg('eax', 0);
      m.cpu.eip = AT;
      m.cpu.halted = false;
      expect(m.vm.core.exports.enter(0, 100_000)).toBe(ExitReason.Hlt);
      expect(m.cpu.eip).toBe(TAIL + tail.length);
      return m.cpu.reg('eax');
    };
    decoded = m.counters.blocksDecoded;
    expect(again()).toBe(3000);
    expect(m.counters.blocksDecoded - decoded).toBe(0); // nothing changed: nothing to decode

    m.run([...asm.movEaxImm(OTHER | P | RW), ...asm.storeEax(m.pteAddr(TAIL)), ...asm.invlpg(TAIL)], CODE);
    expect(again()).toBe((3000 * 0x20001) >>> 0);
    // a guest write to the tail (the immediate's third byte, now in that frame) is seen
    m.run([...asm.movEbxImm(0x03), 0x88, 0x1d, TAIL & 0xff, (TAIL >>> 8) & 0xff, TAIL >>> 16, 0x00], CODE); // mov [TAIL], bl
    expect(again()).toBe((3000 * 0x30001) >>> 0);
  });
});
