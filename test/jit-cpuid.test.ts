// The JIT's CPUID emitter (assembly/jit/region.ts): a loop around CPUID runs
// in its compiled region, answered from the host's table, and ends exactly
// as the interpreter ends it; when a policy asks to see every CPUID, each one
// still exits to the host.
import { describe, it, expect } from 'vitest';
import { ExitReason } from '../src/core/layout.js';
import { runFlat32, le32 } from './support/flat32.js';

const ITERATIONS = 3000;
const body = [
  0x89, 0xf0,       // mov eax, esi
  0x83, 0xe0, 0x01, // and eax, 1 (leaf 0, then 1, ...)
  0x31, 0xc9,       // xor ecx, ecx
  0x0f, 0xa2,       // cpuid
  0x01, 0xdf,       // add edi, ebx
  0x31, 0xd7,       // xor edi, edx
  0x01, 0xcf,       // add edi, ecx
  0x4e,             // dec esi
];
const CODE = [
  0xbe, ...le32(ITERATIONS), 0x31, 0xff, // mov esi, ITERATIONS; xor edi, edi
  0xeb, 0x00,                            // jmp L (the loop is a block of its own)
  ...body, 0x75, 0x100 - body.length - 2, // L: ... jnz L
  0xf4,                                  // hlt
];

function run(jit: boolean, cpuidExits = false) {
  const { vm, end } = runFlat32(CODE, jit, (v) => { v.cpuidExits = cpuidExits; });
  return { ...end, cpuidExits: vm.exitCounts[ExitReason.Cpuid] };
}

describe('JIT: CPUID', () => {
  it('compiled, a loop around CPUID ends in the same state as interpreted', () => {
    const off = run(false);
    const on = run(true);
    expect(off.stop).toBe('halted');
    expect(off.regs[7]).not.toBe(0); // the table's answers reached EDI
    expect(off.cpuidExits).toBe(0);
    expect(on.compiled).toBeGreaterThan(off.retired / 2);
    expect({ ...on, compiled: 0 }).toEqual({ ...off, compiled: 0 });
  });

  it('with every CPUID sent to the host, each one exits with the JIT on too', () => {
    const off = run(false, true);
    const on = run(true, true);
    expect(off.cpuidExits).toBe(ITERATIONS);
    expect({ ...on, compiled: 0 }).toEqual({ ...off, compiled: 0 });
  });
});
