// The JIT tier (assembly/jit/, src/core/jit.ts) never changes what a guest
// does: every shipped guest gives the same serial output, exit status,
// instruction count and final state with the JIT as without it; and the
// differential fuzzer's random guests end in the same state both ways.
import { describe, it, expect } from 'vitest';
import { readdirSync } from 'node:fs';
import { IMAGES } from './support/guest.js';
import { createMachine, bootMultiboot } from '../src/machine.js';
import { Pc } from '../src/platform/pc.js';
import { fuzzJitDiff } from '../src/fuzz/robustness.js';
import type { JitOptions } from '../src/core/jit.js';
import type { Vm } from '../src/vm/vm.js';
import { exitStatus } from '../src/commands/outcome.js';
import { Vm as FlatVm } from '../src/vm/vm.js';
import { enterFlat32, le32 } from './support/flat32.js';

const images = readdirSync(IMAGES).filter((f) => f.endsWith('.elf')).map((f) => f.slice(0, -4)).sort();
const ON_PC = new Set(['sleeper']);
const CMDLINE: Record<string, string> = { compute: 'iterations=12' };
// `spin` loops until stopped: both runs stop at this count, where they must agree too
const MAX_INSTRUCTIONS = 20_000_000;

interface Outcome { serial: string; status: number; instructions: number; state: number[]; compiled: number; regions: number; exitBound: number; demoted: number }

function finalState(vm: Vm): number[] {
  const base = vm.core.exports.stateOffset(0);
  const regs = Array.from({ length: 9 }, (_, i) => vm.core.view.getUint32(base + 4 * i, true));
  return [...regs, vm.core.exports.getEflags(0)];
}

function run(name: string, jit: JitOptions): Outcome {
  let serial = '';
  const serialOut = (b: number) => { serial += String.fromCharCode(b); };
  const cmdline = CMDLINE[name] ?? '';
  let vm: Vm;
  let status: number;
  if (ON_PC.has(name)) {
    const pc = new Pc({ memoryMiB: 32, serial: serialOut, jit });
    try {
      pc.bootMultiboot(`${IMAGES}${name}.elf`, cmdline);
      status = exitStatus(pc.vm.run({ maxInstructions: MAX_INSTRUCTIONS }));
      vm = pc.vm;
    } finally {
      pc.close();
    }
  } else {
    const machine = createMachine({ memoryMiB: 32, serial: serialOut, jit });
    bootMultiboot(machine, `${IMAGES}${name}.elf`, cmdline);
    status = exitStatus(machine.vm.run({ maxInstructions: MAX_INSTRUCTIONS }));
    vm = machine.vm;
  }
  const stats = vm.core.jit.stats();
  expect(stats.errors, stats.firstError).toBe(0);
  return { serial, status, instructions: vm.instructionsRetired, state: finalState(vm), compiled: stats.instructions, regions: stats.regions, exitBound: stats.exitBound, demoted: stats.demoted };
}

describe('JIT: same guest behaviour with and without it', () => {
  for (const name of images) {
    it(`${name}: output, status, instruction count and final state agree`, () => {
      const off = run(name, { on: false });
      // a threshold of 2 compiles nearly everything that runs twice: the most code paths
      const on = run(name, { on: true, threshold: 2, demote: false });
      expect(on.serial).toBe(off.serial);
      expect(on.status).toBe(off.status);
      expect(on.instructions).toBe(off.instructions);
      expect(on.state).toEqual(off.state);
      expect(off.compiled).toBe(0);
    });
  }

  it('compute runs almost entirely in compiled regions', () => {
    const on = run('compute', { on: true });
    expect(on.regions).toBeGreaterThan(5);
    expect(on.compiled / on.instructions).toBeGreaterThan(0.6);
  });

  it('vmexit: blocks that end in an exit are left to the interpreter, not compiled and demoted', () => {
    const on = run('vmexit', { on: true, threshold: 100 });
    const off = run('vmexit', { on: false });
    expect(on.serial).toBe(off.serial);
    // OUT, IN, CPUID, MMIO read and write: each kind's loop block exits on every run
    expect(on.exitBound).toBeGreaterThanOrEqual(5);
    // none of them is compiled and then demoted; only the CR3-reload loops' blocks may be, when their
    // batch is installed while the kind still runs: the region stops at the MOV to CR3 (it ends the block)
    expect(on.demoted).toBeLessThanOrEqual(2);
    expect(on.regions).toBeGreaterThan(0); // the loops' exit-free blocks still compile
  });
});

describe('JIT: exit loops', () => {
  it('the rest of a short exit loop (`dec; jnz` after an MMIO write) is left to the interpreter as well', () => {
    // mov ecx, 2000; jmp L / L: mov [0xFEBF0000], eax; dec ecx; jnz L; jmp $+2 / hlt
    const code = [0xb9, ...le32(2000), 0xeb, 0x00, 0xa3, ...le32(0xfebf0000), 0x49, 0x75, 0x100 - 8, 0xeb, 0x00, 0xf4];
    const vm = new FlatVm({ memoryMiB: 2, jit: { on: true, threshold: 100 } });
    enterFlat32(vm, code);
    expect(vm.run({ maxInstructions: 100_000 }).kind).toBe('halted');
    expect(vm.exitStats().mmio).toBe(2000);
    // both blocks of the loop: the one that exits, and the one each run resumes in (3 instructions between two exits)
    const stats = vm.core.jit.stats();
    expect(stats.exitBound).toBe(2);
    expect(stats.regions).toBe(0);
  });
});

describe('JIT: differential fuzz (quick)', () => {
  // seed 101's guest 32 (V86 mode) once ended differently: 16-bit code was compiled
  for (const [seed, instructions] of [[1, 600_000], [2, 600_000], [101, 2_000_000]]) {
    it(`seed ${seed}: random guests end in the same state with the JIT`, () => {
      const r = fuzzJitDiff(seed, { instructions, episodeMs: 5_000 });
      expect(r.failures).toEqual([]);
      // the JIT really ran a good part of the random code
      expect(r.jit.compiledInstructions).toBeGreaterThan(r.jit.instructions / 10);
    });
  }
});
