// QEMU's pc-testdev on the PC (--testdev), as kvm-unit-tests use it: the
// 0xE0 latch at every width, device memory at 0xFF000000 through the guest's
// own loads and stores, and an ISA line raised through port 0x2000 + n.
import { describe, it, expect } from 'vitest';
import { Pc } from '../src/platform/pc.js';
import { TESTDEV_IOMEM } from '../src/devices/pc-testdev.js';

describe('pc-testdev', () => {
  it('latches what is written at 0xE0-0xE3 and reads it back at any width', () => {
    const pc = new Pc({ memoryMiB: 4, testdev: true });
    const p = pc.vm.ports;
    p.write(0xe0, 4, 0x11223344);
    p.write(0xe2, 1, 0xaa);
    expect(p.read(0xe0, 4)).toBe(0x11aa3344);
    expect(p.read(0xe2, 2)).toBe(0x11aa);
    expect(p.read(0xe3, 1)).toBe(0x11);
  });

  it('keeps 64 KiB of memory at 0xFF000000 that guest stores and loads reach (MMIO)', () => {
    const pc = new Pc({ memoryMiB: 4, testdev: true });
    const vm = pc.vm, cpu = vm.vcpus[0];
    // flat protected mode: mov dword [0xFF000FFE], 0xA1B2C3D4 (crosses nothing: one MMIO write); mov eax, [0xFF000FFE]; smsw [0xFF000FFE]; mov ebx, [0xFF000FFE]; hlt
    vm.writePhys(0x1000, Uint8Array.from([
      0xc7, 0x05, 0xfe, 0x0f, 0x00, 0xff, 0xd4, 0xc3, 0xb2, 0xa1,
      0xa1, 0xfe, 0x0f, 0x00, 0xff,
      0x0f, 0x01, 0x25, 0xfe, 0x0f, 0x00, 0xff,
      0x8b, 0x1d, 0xfe, 0x0f, 0x00, 0xff,
      0xf4]));
    cpu.set('cr0', 0x11);
    cpu.setSegment('cs', { selector: 8, base: 0, limit: 0xffffffff, attr: 0xc09b });
    cpu.setSegment('ds', { selector: 16, base: 0, limit: 0xffffffff, attr: 0xc093 });
    cpu.eflags = 2;
    cpu.eip = 0x1000;
    vm.core.exports.stateChanged(0);
    vm.run({ maxInstructions: 100 });
    expect(cpu.reg('eax') >>> 0).toBe(0xa1b2c3d4);
    expect(cpu.reg('ebx') >>> 0).toBe(0xa1b20011); // SMSW stored only the low word
    expect(vm.mmio.read(TESTDEV_IOMEM + 0xffe, 2)).toBe(0x0011);
  });

  it('REP INSB into device memory and REP OUTSB from it move every item (one MMIO access per exit)', () => {
    const pc = new Pc({ memoryMiB: 4, testdev: true });
    const vm = pc.vm, cpu = vm.vcpus[0];
    vm.writePhys(0x1000, Uint8Array.from([
      0x66, 0xb8, 0x99, 0x99, 0x66, 0xba, 0xe0, 0x00, 0x66, 0xef, // mov ax, 0x9999; mov dx, 0xe0; out dx, ax
      0xbf, 0x10, 0x00, 0x00, 0xff, 0xb9, 0x64, 0x00, 0x00, 0x00, // mov edi, 0xFF000010; mov ecx, 100
      0xfc, 0xf3, 0x6c,                                           // cld; rep insb
      0xc6, 0x05, 0x20, 0x00, 0x00, 0xff, 0x42,                   // mov byte [0xFF000020], 0x42
      0xbe, 0x1e, 0x00, 0x00, 0xff, 0xb9, 0x03, 0x00, 0x00, 0x00, // mov esi, 0xFF00001E; mov ecx, 3
      0xf3, 0x6e,                                                 // rep outsb: 99 99 42, the last one latched
      0xf4]));
    cpu.set('cr0', 0x11);
    cpu.setSegment('cs', { selector: 8, base: 0, limit: 0xffffffff, attr: 0xc09b });
    for (const s of ['ds', 'es'] as const) cpu.setSegment(s, { selector: 16, base: 0, limit: 0xffffffff, attr: 0xc093 });
    cpu.eflags = 2;
    cpu.eip = 0x1000;
    vm.core.exports.stateChanged(0);
    const stop = vm.run({ maxInstructions: 1000 });
    expect(stop.kind).toBe('halted');
    expect([...Array(100)].map((_, i) => vm.mmio.read(TESTDEV_IOMEM + 0x10 + i, 1)).every((b, i) => b === (i === 0x10 ? 0x42 : 0x99))).toBe(true);
    expect(cpu.reg('ecx')).toBe(0);
    expect(vm.ports.read(0xe0, 1)).toBe(0x42);
  });

  it('raises ISA line n when 0x2000 + n is written non-zero', () => {
    const pc = new Pc({ memoryMiB: 4, testdev: true });
    expect(pc.pic.hasInterrupt()).toBe(false);
    pc.vm.ports.write(0x2000 + 4, 1, 1);
    expect(pc.pic.hasInterrupt()).toBe(true);
  });

  it('is absent unless asked for', () => {
    const pc = new Pc({ memoryMiB: 4 });
    expect(pc.vm.ports.read(0xe0, 4) >>> 0).toBe(0xffffffff);
  });
});
