// A vCPU in flat 32-bit protected mode (ring 0, no paging): code at `eip`,
// CS/SS/DS/ES with base 0 and limit 4 GiB, ESP at `esp`, EFLAGS reset. For
// tests that run a few instructions without a guest image.
import { expect } from 'vitest';
import { Vm } from '../../src/vm/vm.js';

/** A dword as its four little-endian bytes (for hand-assembled code and tables). */
export const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];

/**
 * 32-bit paging for the first 4 MiB: the directory at `dir` points to the
 * table at `table`, which maps linear page i to physical page i with the PTE
 * flags `flags(i)` (0: not present).
 */
export function mapIdentity(vm: Vm, dir: number, table: number, flags: (page: number) => number): void {
  vm.writePhys(dir, Uint8Array.from(le32(table | 3)));
  const entries = new Uint8Array(4096);
  for (let i = 0; i < 1024; i++) { const f = flags(i); if (f) entries.set(le32((i << 12) | f), i * 4); }
  vm.writePhys(table, entries);
}

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

/** What a loop left behind: the stop, registers, EIP, EFLAGS, instructions retired and how many of them ran compiled. */
export interface Flat32End {
  stop: string; regs: number[]; eip: number; eflags: number; retired: number; compiled: number;
}

/**
 * Runs `code` to its end in a fresh 2 MiB VM, flat 32-bit ring 0, with the JIT
 * on or off: compiling after 2 runs, never demoting, in slices of 1000
 * instructions so regions install between them. `setup` runs after entry.
 */
export function runFlat32(code: number[], jit: boolean, setup: (vm: Vm) => void = () => {}): { vm: Vm; end: Flat32End } {
  const vm = new Vm({ memoryMiB: 2, jit: { on: jit, threshold: 2, demote: false }, sliceInstructions: 1000 });
  const cpu = vm.vcpus[0];
  enterFlat32(vm, code);
  setup(vm);
  vm.core.exports.stateChanged(0);
  const stop = vm.run({ maxInstructions: 1_000_000 });
  const end = {
    stop: stop.kind, regs: Array.from({ length: 8 }, (_, i) => cpu.gpr(i)), eip: cpu.eip, eflags: cpu.eflags,
    retired: cpu.instructionsRetired, compiled: vm.core.jit.stats().instructions,
  };
  return { vm, end };
}

/** The JIT's rule: compiled (most of the run), the loop ends exactly where and as the interpreter ends it. */
export function expectCompiledAsInterpreted(off: Flat32End, on: Flat32End): void {
  expect(off.compiled).toBe(0);
  expect(on.compiled).toBeGreaterThan(off.retired / 2);
  expect({ ...on, compiled: 0 }).toEqual(off);
}

/**
 * A loop counted down in ECX whose last pass faults: with no IDT the fault
 * ends in a shutdown, ECX = 1 and EIP at the faulting instruction.
 */
export function expectLastPassFaulted(end: Flat32End, faultingEip: number): void {
  expect(end.regs[1]).toBe(1);
  expect(end.stop).toBe('shutdown');
  expect(end.eip).toBe(faultingEip);
}
