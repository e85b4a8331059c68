// The JIT's RDTSC emitter (assembly/jit/region.ts): a delay loop that reads
// the time stamp counter runs in its compiled region and reads the same
// values as interpreted (the virtual clock counts retired instructions); with
// CR4.TSD outside ring 0 the region leaves before RDTSC and the interpreter
// raises the #GP.
import { describe, it, expect } from 'vitest';
import { State } from '../src/core/layout.js';
import { runFlat32, enterFlat32, expectCompiledAsInterpreted, le32 } from './support/flat32.js';
import { Vm } from '../src/vm/vm.js';

const body = [
  0x0f, 0x31,                         // L: rdtsc
  0x29, 0xd8,                         //    sub eax, ebx
  0x01, 0xc7,                         //    add edi, eax (every reading counts)
  0x3d, ...le32(100_000),             //    cmp eax, 100000
];
const CODE = [
  0x0f, 0x31,                         // rdtsc
  0x89, 0xc3,                         // mov ebx, eax (the start)
  0x31, 0xff,                         // xor edi, edi
  0xeb, 0x00,                         // jmp L (the loop is a block of its own)
  ...body, 0x72, 0x100 - body.length - 2, // jb L
  0xf4,                               // hlt
];
const LOOP = 0x1000 + 8;

describe('JIT: RDTSC', () => {
  it('compiled, a delay loop on the time stamp counter reads what the interpreter reads', () => {
    const off = runFlat32(CODE, false).end;
    expect(off.stop).toBe('halted');
    expect(off.regs[7]).toBeGreaterThan(100_000); // EDI: the readings' sum
    expectCompiledAsInterpreted(off, runFlat32(CODE, true).end);
  });

  it('with CR4.TSD set outside ring 0 once the loop is compiled, RDTSC faults (#GP) as interpreted', () => {
    const run = (jit: boolean) => {
      const vm = new Vm({ memoryMiB: 2, jit: { on: jit, threshold: 2, demote: false }, sliceInstructions: 1000 });
      enterFlat32(vm, CODE);
      vm.core.exports.stateChanged(0);
      // at the first tick (32 exits of 1000-instruction slices), a third of the way through the loop
      let set = false;
      const stop = vm.run({
        maxInstructions: 1_000_000,
        onTick: () => {
          if (set) return;
          set = true;
          const base = vm.core.exports.stateOffset(0);
          vm.core.view.setUint32(base + State.cr4, vm.core.view.getUint32(base + State.cr4, true) | 4, true);
          vm.core.view.setUint32(base + State.cpl, 3, true);
          vm.core.exports.stateChanged(0);
        },
      });
      const cpu = vm.vcpus[0];
      return {
        stop: stop.kind, eip: cpu.eip, retired: cpu.instructionsRetired, regs: Array.from({ length: 8 }, (_, i) => cpu.gpr(i)),
        compiled: vm.core.jit.stats().instructions,
      };
    };
    const off = run(false);
    const on = run(true);
    expect(off.stop).toBe('shutdown'); // no IDT: the #GP becomes a triple fault
    expect(off.eip).toBe(LOOP); // at the loop's RDTSC
    expect(on.compiled).toBeGreaterThan(10_000);
    expect({ ...on, compiled: 0 }).toEqual({ ...off, compiled: 0 });
  });
});
