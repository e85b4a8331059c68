// Instruction-level behaviours foreign test suites found wrong (see
// ../shared/findings): each case runs a few hand-assembled instructions (the
// NASM source beside the bytes) and checks what the SDM says they do.
import { describe, it, expect } from 'vitest';
import { Vm } from '../src/vm/vm.js';
import { PagedMachine, CODE, GP_RESULT, P, RW, US } from './support/paged-machine.js';

const FLAT_CODE = { selector: 0x08, base: 0, limit: 0xffffffff, attr: 0xc09b };
const FLAT_DATA = { selector: 0x10, base: 0, limit: 0xffffffff, attr: 0xc093 };

/** 32-bit flat protected mode (no GDT needed: the caches are loaded directly), code at 0x1000. */
function flat(code: number[], steps: number) {
  const vm = new Vm({ memoryMiB: 2 });
  const cpu = vm.vcpus[0];
  vm.writePhys(0x1000, Uint8Array.from(code));
  cpu.set('cr0', 0x11);
  cpu.setSegment('cs', FLAT_CODE);
  for (const s of ['ss', 'ds', 'es'] as const) cpu.setSegment(s, FLAT_DATA);
  cpu.setReg('esp', 0x8000);
  cpu.eflags = 2;
  cpu.eip = 0x1000;
  vm.core.exports.stateChanged(0);
  const stop = vm.run({ maxInstructions: steps });
  return { vm, cpu, stop };
}

/** Real mode: code at 3000:0000, DS = 1000. */
function real(code: number[], steps: number, setup: (vm: Vm) => void) {
  const vm = new Vm({ memoryMiB: 2 });
  const cpu = vm.vcpus[0];
  vm.writePhys(0x30000, Uint8Array.from(code));
  setup(vm);
  cpu.setSegment('cs', { selector: 0x3000, base: 0x30000, limit: 0xffff, attr: 0x9b });
  cpu.setSegment('ds', { selector: 0x1000, base: 0x10000, limit: 0xffff, attr: 0x93 });
  cpu.eip = 0;
  const stop = vm.run({ maxInstructions: steps });
  return { vm, cpu, stop };
}

const CF = 1, ZF = 0x40;

describe('instruction-level leads', () => {
  it('SHLD/SHRD with a 16-bit operand use the 48-bit pattern dst:src:dst, also for counts above 16', () => {
    const { cpu } = flat([
      0x66, 0xb8, 0x34, 0x12,             // mov ax, 0x1234
      0x66, 0xbb, 0x78, 0x56,             // mov bx, 0x5678
      0x66, 0x0f, 0xa4, 0xd8, 0x04,       // shld ax, bx, 4
      0x66, 0xb9, 0x34, 0x12,             // mov cx, 0x1234
      0x66, 0x0f, 0xa4, 0xd9, 0x14,       // shld cx, bx, 20
      0x66, 0xba, 0x34, 0x12,             // mov dx, 0x1234
      0x66, 0x0f, 0xac, 0xda, 0x14,       // shrd dx, bx, 20
    ], 7);
    expect(cpu.reg('eax') & 0xffff).toBe(0x2345);
    expect(cpu.reg('ecx') & 0xffff).toBe(0x6781); // bits 32-47 of (1234:5678:1234 << 20)
    expect(cpu.reg('edx') & 0xffff).toBe(0x4567); // bits 20-35 of 1234:5678:1234
    expect(cpu.eflags & CF).toBe(CF);                 // bit 19 of the pattern
  });

  it('XADD with one register as both operands leaves the sum (SRC <- DEST, then DEST <- sum)', () => {
    const { cpu } = flat([
      0xb8, 0x05, 0x00, 0x00, 0x00,       // mov eax, 5
      0x0f, 0xc1, 0xc0,                   // xadd eax, eax
      0xb1, 0x03,                         // mov cl, 3
      0x0f, 0xc0, 0xc9,                   // xadd cl, cl
    ], 4);
    expect(cpu.reg('eax')).toBe(10);
    expect(cpu.reg('ecx') & 0xff).toBe(6);
  });

  it('a real-mode far pointer at offset FFFE takes its selector from offset 0000 (JMP far m16:16)', () => {
    const { cpu, stop } = real([0xff, 0x2e, 0xfe, 0xff], 1, (vm) => { // jmp far [0xFFFE]
      vm.writePhys(0x1fffe, Uint8Array.from([0x34, 0x12]));
      vm.writePhys(0x10000, Uint8Array.from([0x00, 0x20]));
    });
    expect(stop.kind).toBe('instruction-limit');
    expect(cpu.segment('cs').selector).toBe(0x2000);
    expect(cpu.eip).toBe(0x1234);
  });

  it('LDS with a real-mode pointer at FFFE wraps the same way', () => {
    const { cpu, stop } = real([0xc5, 0x36, 0xfe, 0xff], 1, (vm) => { // lds si, [0xFFFE]
      vm.writePhys(0x1fffe, Uint8Array.from([0x78, 0x56]));
      vm.writePhys(0x10000, Uint8Array.from([0x00, 0x40]));
    });
    expect(stop.kind).toBe('instruction-limit');
    expect(cpu.reg('esi') & 0xffff).toBe(0x5678);
    expect(cpu.segment('ds').selector).toBe(0x4000);
  });

  it('ARPL on a read-only memory operand writes (and faults) only when the RPL changes', () => {
    const arpl = [0x64, 0x63, 0x05, 0x00, 0x01, 0x00, 0x00]; // arpl [fs:0x100], ax
    for (const [mem, ax, fault] of [[0x0013, 0x0001, false], [0x0010, 0x0003, true]] as const) {
      const m = new PagedMachine();
      m.cpu.setSegment('fs', { selector: 0x10, base: 0, limit: 0xffffffff, attr: 0xc091 }); // read-only data
      m.vm.writePhys(0x100, Uint8Array.from([mem & 0xff, mem >>> 8]));
      m.cpu.setReg('eax', ax);
      m.cpu.eflags = 2 | ZF;
      m.run(arpl);
      expect(m.vm.readPhys32(GP_RESULT + 4)).toBe(fault ? 1 : 0); // #GP count
      expect(m.vm.readPhys(0x100, 2)).toEqual(Uint8Array.from([mem & 0xff, mem >>> 8]));
      if (!fault) expect(m.cpu.eflags & ZF).toBe(0);
    }
  });

  it('ENTER checks the whole frame before writing: a #PF on a later slot leaves no partial frame', () => {
    const m = new PagedMachine();
    m.map(CODE, CODE, P | RW | US);
    m.map(0x40000, 0x40000, P | RW | US);
    m.map(0x3f000, 0x3f000, 0);                  // the page below the user stack is absent
    m.vm.fillPhys(0x40000, 0x1000, 0xee);
    m.ring(3);
    m.run([
      0xbc, 0x08, 0x00, 0x04, 0x00,             // mov esp, 0x40008
      0xbd, 0x00, 0x08, 0x04, 0x00,             // mov ebp, 0x40800
      0xc8, 0x00, 0x00, 0x03,                   // enter 0, 3: slots 40004, 40000, 3FFFC, 3FFF8
    ]);
    expect(m.fault.count).toBe(1);
    expect(m.fault.cr2 >>> 12).toBe(0x3f);
    expect(m.vm.readPhys32(0x40004)).toBe(0xeeeeeeee);
    expect(m.vm.readPhys32(0x40000)).toBe(0xeeeeeeee);
    expect(m.vm.readPhys32(0x9000 - 8)).toBe(0x40008); // the user ESP the fault saved
  });

  it('SMSW stores a word to memory and the whole CR0 to a 32-bit register', () => {
    const { vm, cpu } = flat([
      0xc7, 0x05, 0x00, 0x01, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, // mov dword [0x100], -1
      0x0f, 0x01, 0x25, 0x00, 0x01, 0x00, 0x00, // smsw [0x100]
      0x0f, 0x01, 0xe0,                         // smsw eax
    ], 3);
    expect(vm.readPhys32(0x100)).toBe((0xffff0000 | 0x11) >>> 0);
    expect(cpu.reg('eax')).toBe(cpu.get('cr0'));
  });
});
