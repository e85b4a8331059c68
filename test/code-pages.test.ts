// Writes to frames that hold decoded code, and REP STOS/MOVS over pages the
// soft TLB has not seen yet (both found booting xv6: its kfree clears every
// freed page with REP STOSD, among them pages that held user code).
import { describe, it, expect } from 'vitest';
import { createMachine } from '../src/machine.js';
import { loadMultiboot } from '../src/loader/multiboot.js';
import { kludgeImage, LOAD } from './support/image.js';

const ENTRY = LOAD + 32;
const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];

/** Code assembled at ENTRY: `call(target)` needs to know where it sits. */
class Asm {
  bytes: number[] = [];
  emit(...b: number[]): this { this.bytes.push(...b); return this; }
  movImm(reg: number, v: number): this { return this.emit(0xb8 + reg, ...le32(v)); }
  call(target: number): this { const next = ENTRY + this.bytes.length + 5; return this.emit(0xe8, ...le32((target - next) >>> 0)); }
}
const EAX = 0, ECX = 1, ESI = 6, EDI = 7;

function run(code: number[], setup: (write: (addr: number, bytes: number[]) => void) => void = () => {}) {
  const m = createMachine({ memoryMiB: 16 });
  loadMultiboot(m.vm, kludgeImage(code), 'test');
  setup((addr, bytes) => m.vm.writePhys(addr, Uint8Array.from(bytes)));
  const stop = m.vm.run({ maxInstructions: 1_000_000 });
  return { vm: m.vm, cpu: m.vm.vcpus[0], stop };
}

describe('frames with decoded code', () => {
  it('a page cleared after its code ran costs one invalidation; code written there later runs', () => {
    const ROUTINE = 0x200000;
    const code = new Asm()
      .call(ROUTINE)                                        // mov eax, 1; ret: the page now holds decoded code
      .movImm(EDI, ROUTINE).movImm(ECX, 1024).movImm(EAX, 0x01010101)
      .emit(0xfc, 0xf3, 0xab)                               // cld; rep stosd: the whole page, as kfree does
      .emit(0xc7, 0x05, ...le32(ROUTINE), 0xb8, 0x02, 0x00, 0x00) // mov dword [ROUTINE], (mov eax, 2)
      .emit(0x66, 0xc7, 0x05, ...le32(ROUTINE + 4), 0x00, 0xc3)   // mov word [ROUTINE+4], (… ; ret)
      .call(ROUTINE)
      .emit(0xf4).bytes;
    const { vm, cpu, stop } = run(code, (write) => write(ROUTINE, [0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3]));
    expect(stop.kind).toBe('halted');
    expect(cpu.reg('eax')).toBe(2);                          // the new code, not a stale block
    expect(cpu.counter('codeInvalidations')).toBe(1);        // not one per dword stored
    expect([...vm.readPhys(ROUTINE + 8, 8)]).toEqual(new Array(8).fill(1));
  });

  it('a write into a page whose code is running ends the block: the next instruction is the new one', () => {
    // at ROUTINE: mov byte [ROUTINE + 8], 0x02; mov eax, 1 (its immediate patched to 2 before it runs); ret
    const ROUTINE = 0x200000;
    const code = new Asm().call(ROUTINE).call(ROUTINE).emit(0xf4).bytes;
    const { cpu, stop } = run(code, (write) => write(ROUTINE, [0xc6, 0x05, ...le32(ROUTINE + 8), 0x02, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3]));
    expect(stop.kind).toBe('halted');
    expect(cpu.reg('eax')).toBe(2);
    expect(cpu.counter('codeInvalidations')).toBe(2); // each call decodes the routine again, then its write drops it
  });
});

describe('REP STOS and MOVS over pages without TLB entries yet', () => {
  it('fill and copy runs that start mid-page and cross fresh pages, with every register where the SDM leaves it', () => {
    const N = 2 + 2 * 1024 + 3; // 2 dwords before a boundary, two whole pages, 3 after
    const DST = 0x300ff8, COPY = 0x600ffc;
    const code = new Asm()
      .movImm(EDI, DST).movImm(ECX, N).movImm(EAX, 0xa5a5a5a5).emit(0xfc, 0xf3, 0xab)           // rep stosd
      .movImm(ESI, DST).movImm(EDI, COPY).movImm(ECX, N).emit(0xf3, 0xa5)                        // rep movsd
      .emit(0xf4).bytes;
    const { vm, cpu, stop } = run(code);
    expect(stop.kind).toBe('halted');
    expect(cpu.reg('ecx')).toBe(0);
    expect(cpu.reg('esi')).toBe(DST + N * 4);
    expect(cpu.reg('edi')).toBe(COPY + N * 4);
    const filled = vm.readPhys(DST, N * 4);
    expect(filled.every((b) => b === 0xa5)).toBe(true);
    expect(vm.readPhys32(DST - 4)).toBe(0);
    expect(vm.readPhys32(DST + N * 4)).toBe(0);
    expect(vm.readPhys(COPY, N * 4)).toEqual(filled);
    expect(vm.readPhys32(COPY + N * 4)).toBe(0);
  });
});
