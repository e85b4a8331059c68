// Reading a vCPU's state is a read: it neither switches the core's active vCPU
// (a 1 KiB copy each way) nor flushes the TLB.
import { describe, it, expect } from 'vitest';
import { Vm } from '../src/vm/vm.js';

describe('vCPU reads have no side effects', () => {
  it('eflags and interruptsEnabled of a parked vCPU leave vCPU 0 active and the TLB alone', () => {
    const vm = new Vm({ memoryMiB: 1, vcpus: 2 });
    const [a, b] = vm.vcpus;
    b.eflags = 0x246; // activates vCPU 1 to write its flags
    a.eflags = 0x202; // and back to vCPU 0
    const core = vm.core.exports;
    const active = core.stateOffset(0); // vCPU 0 is active: its state is at the active block
    expect(core.stateOffset(1)).not.toBe(active);
    const flushes = a.counter('flushFull') + b.counter('flushFull');
    expect(b.eflags).toBe(0x246);
    expect(b.interruptsEnabled).toBe(true);
    expect(core.stateOffset(0)).toBe(active); // still vCPU 0: no activation
    expect(core.stateOffset(1)).not.toBe(active);
    expect(a.counter('flushFull') + b.counter('flushFull')).toBe(flushes);
    expect(a.eflags).toBe(0x202);
  });
});
