// A vCPU in flat 32-bit protected mode (ring 0, no paging): code at `eip`,
// CS/SS/DS/ES with base 0 and limit 4 GiB, ESP at `esp`, EFLAGS reset. For
// tests that run a few instructions without a guest image.
import type { Vm } from '../../src/vm/vm.js';

export function enterFlat32(vm: Vm, code: number[], opts: { eip?: number; esp?: number; cr0?: number } = {}): void {
  const cpu = vm.vcpus[0];
  const eip = opts.eip ?? 0x1000;
  vm.writePhys(eip, Uint8Array.from(code));
  cpu.set('cr0', opts.cr0 ?? 0x11);
  cpu.setSegment('cs', { selector: 0x08, base: 0, limit: 0xffffffff, attr: 0xc09b });
  for (const s of ['ss', 'ds', 'es'] as const) cpu.setSegment(s, { selector: 0x10, base: 0, limit: 0xffffffff, attr: 0xc093 });
  cpu.setReg('esp', opts.esp ?? 0x8000);
  cpu.eflags = 2;
  cpu.eip = eip;
  vm.core.exports.stateChanged(0);
}
