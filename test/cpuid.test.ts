// CPUID answered inside the core from the table the VM writes (as
// KVM_SET_CPUID2): no exit, the policy's values, the vCPU's own APIC ID in
// leaf 1, policy changes seen at once, zeros for a leaf the table lacks, and
// an exit for every CPUID when the host asks to see them.
import { describe, it, expect } from 'vitest';
import { flatGuest } from '../src/bench/flat-guest.js';
import { ExitReason } from '../src/core/layout.js';
import { Feature } from '../src/vm/cpuid.js';
import type { Vm } from '../src/vm/vm.js';

const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
// mov eax, leaf; mov ecx, subleaf; cpuid; hlt
const cpuidThenHlt = (leaf: number, subleaf = 0) => [0xb8, ...le32(leaf), 0xb9, ...le32(subleaf), 0x0f, 0xa2, 0xf4];

/** Run vCPU `v` of `vm` to its HLT; returns EAX, EBX, ECX, EDX. */
function runToHlt(vm: Vm, v = 0): number[] {
  for (let i = 0; i < 10; i++) {
    const r = vm.core.exports.enter(v, 1000);
    vm.exitCounts[r]++;
    if (r === ExitReason.Hlt) break;
    vm.handleExit(vm.vcpus[v], r);
  }
  return [0, 3, 1, 2].map((g) => vm.vcpus[v].gpr(g));
}

describe('CPUID in the core', () => {
  it('answers leaf 0 with the vendor and the highest leaf, without an exit', () => {
    const vm = flatGuest(cpuidThenHlt(0));
    const [a, b, c, d] = runToHlt(vm);
    expect(a).toBe(1);
    expect(Buffer.from(new Uint32Array([b, d, c]).buffer).toString('latin1')).toBe('GenuineIntel');
    expect(vm.exitCounts[ExitReason.Cpuid]).toBe(0);
  });

  it('gives each vCPU its own APIC ID in leaf 1 EBX[31:24]', () => {
    const vm = flatGuest(cpuidThenHlt(1), { vcpus: 3 });
    for (const v of [0, 2, 1]) {
      const [a, b, , d] = runToHlt(vm, v);
      expect(b >>> 24, `vCPU ${v}`).toBe(v);
      expect(a).toBe(vm.cpuid.signature);
      expect(d).toBe(vm.cpuid.features);
    }
    expect(vm.exitCounts[ExitReason.Cpuid]).toBe(0);
  });

  it('sees a policy change made after the VM was created', () => {
    const vm = flatGuest(cpuidThenHlt(1));
    vm.cpuid.features |= Feature.apic;
    vm.cpuid.override(0x80000000, [0x80000001, 0, 0, 0]);
    const [, , , d] = runToHlt(vm);
    expect(d & Feature.apic).toBe(Feature.apic);
    const vm2 = flatGuest(cpuidThenHlt(0x80000000));
    vm2.cpuid.override(0x80000000, [0x80000001, 7, 8, 9]);
    expect(runToHlt(vm2)).toEqual([0x80000001, 7, 8, 9]);
  });

  it('reads a leaf the table lacks as zeros, as the host policy answers it', () => {
    const vm = flatGuest(cpuidThenHlt(0x40000000));
    vm.vcpus[0].setReg('ebx', 0x1234);
    expect(runToHlt(vm)).toEqual([0, 0, 0, 0]);
    expect(vm.cpuid.leaf(0x40000000, 0)).toEqual([0, 0, 0, 0]);
  });

  it('exits for every CPUID when the host asks to see them, with the same answers', () => {
    const inCore = runToHlt(flatGuest(cpuidThenHlt(1), { vcpus: 2 }), 1);
    const vm = flatGuest(cpuidThenHlt(1), { vcpus: 2 });
    vm.cpuidExits = true;
    expect(runToHlt(vm, 1)).toEqual(inCore);
    expect(vm.exitCounts[ExitReason.Cpuid]).toBe(1);
    vm.cpuidExits = false;
    expect(vm.cpuidExits).toBe(false);
  });
});
