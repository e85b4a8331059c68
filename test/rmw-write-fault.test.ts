// A read-modify-write whose write faults (a read-only page, CR0.WP set) changes
// nothing: not memory and not the flags. The interpreter used to compute the
// flags after the read and then take the #PF on the write; the differential
// fuzzer found it (seed 5037: the JIT, which checks the write first, disagreed).
import { describe, it, expect } from 'vitest';
import { Vm } from '../src/vm/vm.js';
import { enterFlat32, le32, mapIdentity } from './support/flat32.js';

const PD = 0x10000, PT = 0x11000, READ_ONLY = 0x50000;
const ARITH = 0x8d5; // OF SF ZF AF PF CF

function runWithReadOnlyPage(instruction: number[]) {
  const vm = new Vm({ memoryMiB: 2 });
  mapIdentity(vm, PD, PT, (i) => (i >= 512 ? 0 : i << 12 === READ_ONLY ? 0x1 : 0x3)); // 2 MiB, one page read-only
  const code = [
    0x31, 0xc0, // xor eax, eax (ZF, PF)
    0xf9,       // stc
    0xb0, 0x80, // mov al, 0x80
    ...instruction,
    0xf4,       // hlt (not reached)
  ];
  const at = 0x1000 + 5;
  enterFlat32(vm, code);
  const cpu = vm.vcpus[0];
  cpu.set('cr3', PD);
  cpu.set('cr0', 0x80010011); // PG, WP, ET, PE
  vm.core.exports.stateChanged(0);
  const stop = vm.run({ maxInstructions: 100 });
  return { stop: stop.kind, eip: cpu.eip, flags: cpu.eflags & ARITH, cr2: cpu.get('cr2'), byte: vm.readPhys(READ_ONLY, 1)[0], at };
}

describe('read-modify-write with a faulting write', () => {
  for (const [name, instruction] of [
    ['add [m8], al', [0x00, 0x05, ...le32(READ_ONLY)]],
    ['inc dword [m32]', [0xff, 0x05, ...le32(READ_ONLY)]],
    ['neg byte [m8]', [0xf6, 0x1d, ...le32(READ_ONLY)]],
  ] as const) {
    it(`${name} on a read-only page: #PF at the instruction, flags and memory unchanged`, () => {
      const r = runWithReadOnlyPage([...instruction]);
      // no IDT: the #PF ends in a shutdown, EIP still at the instruction
      expect(r.stop).toBe('shutdown');
      expect(r.eip).toBe(r.at);
      expect(r.cr2).toBe(READ_ONLY);
      expect(r.flags).toBe(0x47 & ARITH); // ZF PF CF from xor and stc
      expect(r.byte).toBe(0);
    });
  }
});
