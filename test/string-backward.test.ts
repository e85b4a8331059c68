// REP MOVS and REP STOS with EFLAGS.DF set go to lower addresses item by item;
// the core copies whole pages at a time (cpu/string.ts bulk), which must end
// with memory and ESI/EDI/ECX exactly as the items one by one would, also
// where the destination overlaps the source. (Linux's
// decompressor moves its 5.7 MB image up with STD; REP MOVSD.)
import { describe, it, expect } from 'vitest';
import { createMachine } from '../src/machine.js';
import { loadMultiboot } from '../src/loader/multiboot.js';
import { kludgeImage } from './support/image.js';

const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const mov = (reg: number, v: number) => [0xb8 + reg, ...le32(v)];
const EAX = 0, ECX = 1, ESI = 6, EDI = 7;
const AREA = 0x300000, SIZE = 0x5000; // five pages of patterned bytes (a 16-bit index: the low 64 KiB)

type Op = { movs: boolean; bytes: 1 | 2 | 4; a16?: boolean };

/** The items one by one on a copy of AREA: the SDM's loop. */
function reference(mem: Uint8Array, base: number, op: Op, si: number, di: number, count: number, eax: number) {
  const mask = op.a16 ? 0xffff : 0xffffffff;
  for (let n = 0; n < count; n++) {
    for (let b = 0; b < op.bytes; b++) {
      const v = op.movs ? mem[si + b - base] : (eax >>> (8 * b)) & 0xff;
      mem[di + b - base] = v;
    }
    if (op.movs) si = (si - op.bytes) & mask;
    di = (di - op.bytes) & mask;
  }
  return { si, di };
}

function run(op: Op, si: number, di: number, count: number) {
  const eax = 0x5aa5c33c;
  const opcode = op.movs ? (op.bytes === 1 ? 0xa4 : 0xa5) : (op.bytes === 1 ? 0xaa : 0xab);
  const [base, size] = op.a16 ? [0, 0x10000] : [AREA, SIZE];
  // read and write back a dword of each page, from three below the area: with
  // the TLB entries there from the first item, whole pages go in bulk at once
  const warm: number[] = [];
  for (let p = Math.max(0, base - 0x3000); p < base + size; p += 0x1000) warm.push(0xa1, ...le32(p), 0xa3, ...le32(p));
  const code = [
    ...warm, ...mov(ESI, si), ...mov(EDI, di), ...mov(ECX, count), ...mov(EAX, eax),
    0xfd, ...(op.a16 ? [0x67] : []), ...(op.bytes === 2 ? [0x66] : []), 0xf3, opcode, 0xfc, 0xf4, // std; rep ...; cld; hlt
  ];
  const m = createMachine({ memoryMiB: 16 });
  loadMultiboot(m.vm, kludgeImage(code), 'test');
  const pattern = Uint8Array.from({ length: size }, (_, i) => (i * 7 + (i >>> 8)) & 0xff);
  m.vm.writePhys(base, pattern);
  const stop = m.vm.run({ maxInstructions: 1_000_000 });
  expect(stop.kind).toBe('halted');
  const want = pattern.slice();
  const end = reference(want, base, op, si, di, count, eax);
  const cpu = m.vm.vcpus[0];
  expect([cpu.reg('esi'), cpu.reg('edi'), cpu.reg('ecx')]).toEqual([op.movs ? end.si >>> 0 : si, end.di >>> 0, 0]);
  expect(m.vm.readPhys(base, size)).toEqual(want);
}

describe('REP MOVS/STOS with DF set', () => {
  it('MOVSD down across three pages, from mid-page, apart', () => run({ movs: true, bytes: 4 }, AREA + 0x2ff8, AREA + 0x4ffc - 4, 0x900));
  it('MOVSB down onto itself, the destination 3 bytes above (a memmove up)', () => run({ movs: true, bytes: 1 }, AREA + 0x3001, AREA + 0x3004, 0x2800));
  it('MOVSD down onto itself, the destination 8 bytes below (items repeat)', () => run({ movs: true, bytes: 4 }, AREA + 0x4008, AREA + 0x4000, 0x1800));
  it('MOVSW down with a dword-unaligned start whose first item crosses a page', () => run({ movs: true, bytes: 2 }, AREA + 0x1fff, AREA + 0x3fff, 0x1000));
  it('STOSW and STOSB down across pages', () => {
    run({ movs: false, bytes: 2 }, 0, AREA + 0x3ffe, 0x1400);
    run({ movs: false, bytes: 1 }, 0, AREA + 0x2803, 0x2001);
  });
  it('16-bit indexes wrap below 0 within their 64 KiB', () => {
    run({ movs: false, bytes: 2, a16: true }, 0, 0x4, 8);
    run({ movs: true, bytes: 4, a16: true }, 0x10, 0x2008, 0x500);
  });
});
