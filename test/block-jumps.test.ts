// A jump taken to a record of its own block goes on there inside the run loop
// (assembly/cpu/run.ts, execute.ts relJump): the loop must still stop exactly
// at the budget, count every instruction and leave EIP and the registers as
// stepping one instruction at a time does, whatever the slice it runs in.
import { describe, it, expect } from 'vitest';
import { Vm } from '../src/vm/vm.js';
import { enterFlat32, le32 } from './support/flat32.js';

const N = 40;
// one block from L to the HLT: a forward jump (JZ S) and a backward one (JNZ L) inside it
const CODE = [
  0xb9, ...le32(N),   // 0x1000 mov ecx, N
  0x31, 0xc0,         // 0x1005 xor eax, eax
  0x31, 0xdb,         // 0x1007 xor ebx, ebx
  0x01, 0xc8,         // 0x1009 L: add eax, ecx
  0xf6, 0xc1, 0x01,   // 0x100b test cl, 1
  0x74, 0x03,         // 0x100e jz S
  0x83, 0xc3, 0x01,   // 0x1010 add ebx, 1
  0x49,               // 0x1013 S: dec ecx
  0x75, 0xf3,         // 0x1014 jnz L
  0xf4,               // 0x1016 hlt
];

/** The loop's registers and EIP after `n` instructions (the model). */
function after(n: number): { eax: number; ebx: number; ecx: number; eip: number } {
  let eax = 0, ebx = 0, ecx = 0, eip = 0x1000;
  for (let i = 0; i < n && eip !== 0x1017; i++) {
    switch (eip) {
      case 0x1000: ecx = N; eip = 0x1005; break;
      case 0x1005: eax = 0; eip = 0x1007; break;
      case 0x1007: ebx = 0; eip = 0x1009; break;
      case 0x1009: eax += ecx; eip = 0x100b; break;
      case 0x100b: eip = 0x100e; break;
      case 0x100e: eip = ecx & 1 ? 0x1010 : 0x1013; break;
      case 0x1010: ebx++; eip = 0x1013; break;
      case 0x1013: ecx--; eip = 0x1014; break;
      case 0x1014: eip = ecx ? 0x1009 : 0x1016; break;
      default: eip = 0x1017; break; // hlt
    }
  }
  return { eax, ebx, ecx, eip };
}
const TOTAL = 3 + N * 5 + N / 2 + 1; // to the HLT, included

function run(slice: number, max: number) {
  const vm = new Vm({ memoryMiB: 2, jit: { on: false }, sliceInstructions: slice });
  enterFlat32(vm, CODE);
  vm.run({ maxInstructions: max });
  const cpu = vm.vcpus[0];
  return { retired: cpu.instructionsRetired, eax: cpu.reg('eax'), ebx: cpu.reg('ebx'), ecx: cpu.reg('ecx'), eip: cpu.eip };
}

describe('jumps inside a block (interpreter)', () => {
  it.each([1, 2, 3, 5, 7, 13, 16, 17, 64, 1000])('slices of %d instructions: it stops at every budget exactly, as stepping does', (slice) => {
    for (const max of [1, 4, 9, 10, 11, 12, 25, 26, 27, 100, 101, 150, TOTAL - 1]) {
      expect({ max, ...run(slice, max) }).toEqual({ max, retired: max, ...after(max) });
    }
  });

  it('runs to the HLT with the sums of the loop', () => {
    const end = run(1000, 1_000_000);
    expect(end).toEqual({ retired: TOTAL, eax: N * (N + 1) / 2, ebx: N / 2, ecx: 0, eip: 0x1017 });
  });
});
