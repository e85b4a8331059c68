// How the JIT hands regions to V8 (assembly/jit/tier.ts, src/core/jit.ts;
// docs/jit.md, "Batches"): a hot loop whose block waits in the pending batch
// gets its region long before the batch's 1M-instruction wait, and region
// modules import no function table (V8 would walk the whole table to
// instantiate each one and update each one at every table.set); a module
// compiled once is kept for the process, so another VM of the same code
// instantiates it instead of compiling it again.
import { describe, it, expect } from 'vitest';
import { Vm } from '../src/vm/vm.js';
import { enterFlat32, le32 } from './support/flat32.js';

// mov ecx, n / loop: add eax, ecx / dec ecx / jnz loop / hlt (3 instructions a pass)
const loop = (n: number) => [0xb9, ...le32(n), 0x01, 0xc8, 0x49, 0x75, 0x100 - 5, 0xf4];

function run(passes: number) {
  const vm = new Vm({ memoryMiB: 4, jit: { on: true } }); // the default threshold (1000)
  const imports: string[][] = [];
  vm.core.jit.onModule = (bytes) => imports.push(WebAssembly.Module.imports(new WebAssembly.Module(new Uint8Array(bytes))).map((i) => `${i.kind} ${i.name}`));
  enterFlat32(vm, loop(passes));
  const stop = vm.run({ maxInstructions: 10_000_000 });
  return { stop, stats: vm.core.jit.stats(), retired: vm.vcpus[0].instructionsRetired, imports, eax: vm.vcpus[0].gpr(0) };
}

describe('JIT batches', () => {
  it('a loop that waits in the batch is compiled after ~128k interpreted instructions, not after the 1M wait', () => {
    const { stop, stats, retired, eax } = run(100_000); // 300k instructions: less than the 1M wait
    expect(stop.kind).toBe('halted');
    expect(eax).toBe((100_000 * 100_001 / 2) % 2 ** 32);
    expect(stats.regions).toBe(1);
    expect(stats.batches).toBe(1);
    // 1000 interpreted passes to reach the threshold, then passes waiting until
    // 128k of the block's instructions (4 records: the hlt after the jnz is in
    // the block too) were interpreted: ~32k passes, ~99k instructions; the rest compiled
    const interpreted = retired - stats.instructions;
    expect(interpreted).toBeGreaterThan(95_000);
    expect(interpreted).toBeLessThan(105_000);
  });

  it('a second VM running the same code takes the modules the first one compiled (the process keeps them)', () => {
    // (xor instead of add: no other test compiled this region's bytes)
    const xorLoop = loop(100_000).map((b, i) => (i === 5 ? 0x31 : b));
    const first = new Vm({ memoryMiB: 4, jit: { on: true } });
    enterFlat32(first, xorLoop);
    first.run({ maxInstructions: 10_000_000 });
    expect(first.core.jit.stats().batches).toBe(1);
    expect(first.core.jit.reused).toBe(0);
    const second = new Vm({ memoryMiB: 4, jit: { on: true } });
    enterFlat32(second, xorLoop);
    second.run({ maxInstructions: 10_000_000 });
    expect(second.core.jit.stats().batches).toBe(1);
    expect(second.core.jit.reused).toBe(1);
    expect(second.vcpus[0].gpr(0)).toBe(first.vcpus[0].gpr(0));
  });

  it('a batch waits at most threshold² instructions, also while the interpreter goes from block to block in one run()', () => {
    // loop A becomes hot (threshold 16) and waits in the batch; then loop B
    // runs, block after block in the record loop, without a return from run():
    // 256 instructions later A's batch is compiled alone, and B's region comes
    // in a batch of its own (counted from an instruction count kept up to date
    // there, not from the last return of run(), which would keep A waiting
    // until B's runs in the batch made it urgent, one batch for both)
    // (B's passes are 20 instructions: it becomes hot only after A's wait is over)
    const bBody = [...Array.from({ length: 17 }, () => [0x89, 0xca]).flat(), 0x31, 0xc8, 0x49]; // 17 x mov edx, ecx; xor eax, ecx; dec ecx
    const ab = [...loop(20).slice(0, -1), 0xb9, ...le32(2000), ...bBody, 0x75, 0x100 - bBody.length - 2, 0xf4];
    const vm = new Vm({ memoryMiB: 4, jit: { on: true, threshold: 16, demote: false } });
    enterFlat32(vm, ab);
    vm.runSlice(vm.vcpus[0], 100_000);
    expect(vm.stopped?.kind).toBe('halted');
    expect(vm.core.jit.stats().batches).toBe(2);
    expect(vm.core.jit.stats().regions).toBeGreaterThanOrEqual(2);
    expect(vm.vcpus[0].gpr(1)).toBe(0);
  });

  it('region modules import the memory and the core\'s callbacks, but no table', () => {
    const { imports } = run(100_000);
    expect(imports.length).toBe(1);
    expect(imports[0]).toContain('memory memory');
    expect(imports[0]).toContain('function fill');
    expect(imports[0].some((i) => i.startsWith('table'))).toBe(false);
  });
});
