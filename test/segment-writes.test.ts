// Real mode and V86 check segment limits, not types: a write through CS
// (a far jump loaded it as code) lands in memory instead of faulting.
import { describe, it, expect } from 'vitest';
import { Vm } from '../src/vm/vm.js';

const CODE = 0x10000; // 1000:0000

function runAt(v86: boolean) {
  const vm = new Vm({ memoryMiB: 2 });
  const cpu = vm.vcpus[0];
  vm.writePhys(CODE, Uint8Array.from([
    0xea, 0x05, 0x00, 0x00, 0x10,       // jmp 1000:0005 (CS loaded by the far jump)
    0x2e, 0xc6, 0x06, 0x00, 0x01, 0xab, // mov byte [cs:0100h], 0ABh
  ]));
  if (v86) cpu.set('cr0', cpu.get('cr0') | 1);
  const dpl = v86 ? 0x60 : 0;
  cpu.setSegment('cs', { selector: 0x1000, base: CODE, limit: 0xffff, attr: 0x9b | dpl });
  for (const s of ['ss', 'ds', 'es'] as const) cpu.setSegment(s, { selector: 0x1000, base: CODE, limit: 0xffff, attr: 0x93 | dpl });
  cpu.eflags = v86 ? 0x20002 : 2; // VM
  cpu.eip = 0;
  const stop = vm.run({ maxInstructions: 2 });
  return { stop, cpu, byte: vm.readPhys(CODE + 0x100, 1)[0] };
}

describe('writes through CS', () => {
  for (const mode of ['real mode', 'V86'] as const) {
    it(`are allowed in ${mode}`, () => {
      const { stop, cpu, byte } = runAt(mode === 'V86');
      expect(stop.kind).toBe('instruction-limit');
      expect(byte).toBe(0xab);
      expect(cpu.eip).toBe(0x0b);
      expect(cpu.segment('cs').selector).toBe(0x1000);
    });
  }
});
