// Region modules compiled off the vCPU's thread (src/host/node/module-compiler.ts,
// src/core/jit.ts, jit/tier.ts jitFlush and collect; docs/jit.md, "The compile
// thread"): the blocks of a batch that is compiling keep running in the
// interpreter, the batch is installed when run() returns after it finished,
// a block whose code changed meanwhile does not get the stale region, and a
// refused module or a busy thread loses nothing; a batch that a hot loop waits
// for compiles at once. The held compiler stands in
// for the worker so that a test decides when a compile finishes; the last
// test runs the real worker thread.
import { describe, it, expect, afterEach } from 'vitest';
import { nodeHost } from '../src/host/node/index.js';
import type { CompiledModule, ModuleCompiler } from '../src/host/platform.js';
import { Vm } from '../src/vm/vm.js';
import { enterFlat32, le32 } from './support/flat32.js';

/** Compiles nothing until the test says so. */
class HeldCompiler implements ModuleCompiler {
  readonly held: { bytes: Uint8Array<ArrayBuffer>; done: (r: CompiledModule) => void }[] = [];
  private readonly finished: (() => void)[] = [];
  handed = 0;
  constructor(private readonly capacity = Infinity) {}
  compile(bytes: Uint8Array, done: (r: CompiledModule) => void): boolean {
    if (this.held.length >= this.capacity) return false;
    this.handed++;
    this.held.push({ bytes: bytes.slice(), done });
    return true;
  }
  /** Finish every held compile (or refuse it); `poll` reports them. */
  release(refuse = false): void {
    for (const h of this.held.splice(0)) {
      const result: CompiledModule = refuse ? { error: 'refused by the test', ms: 0 } : { module: new WebAssembly.Module(h.bytes), ms: 0 };
      this.finished.push(() => h.done(result));
    }
  }
  poll(): void { for (const f of this.finished.splice(0)) f(); }
}

const original = nodeHost.moduleCompiler;
afterEach(() => { nodeHost.moduleCompiler = original; });

function withCompiler(c: ModuleCompiler): void { nodeHost.moduleCompiler = () => c; }

// mov ecx, n / L: add eax, ecx / dec ecx / jnz L / hlt (3 instructions a pass; the loop is at 0x1005).
// Each test has an ALU operation of its own: the process keeps the modules it
// compiled (src/core/jit.ts), and a module compiled before is installed at once.
const LOOP = 0x1005;
const ADD = 0x01, OR = 0x09, ADC = 0x11, SBB = 0x19, AND = 0x21, SUB = 0x29, XOR = 0x31, CMP = 0x39;
const loop = (n: number, op = 0x01) => [0xb9, ...le32(n), op, 0xc8, 0x49, 0x75, 0x100 - 5, 0xf4];
const sum = (n: number) => (n * (n + 1) / 2) % 2 ** 32;

// At threshold 16 a batch is flushed 256 instructions after its first region
// (threshold²), before the blocks waiting in it ran 2048 (threshold x 128),
// which would make it urgent.
function vm(code: number[], jit: boolean, threshold = 16) {
  const v = new Vm({ memoryMiB: 2, jit: { on: jit, threshold, demote: false, compile: 'worker' } });
  enterFlat32(v, code);
  return v;
}

/**
 * Run until `until` says stop or the guest halts: the `mov ecx` alone, then
 * slices of whole passes, so that every slice starts at the loop (a slice
 * that ended inside it would start a block of its own there).
 */
function drive(v: Vm, until: () => boolean = () => false): void {
  const cpu = v.vcpus[0];
  while (!v.stopped && !until()) v.runSlice(cpu, cpu.instructionsRetired === 0 ? 1 : 999);
}

const endOf = (v: Vm) => {
  const cpu = v.vcpus[0];
  return { regs: Array.from({ length: 8 }, (_, i) => cpu.gpr(i)), eip: cpu.eip, eflags: cpu.eflags, retired: cpu.instructionsRetired };
};

describe('JIT: regions compiled off the vCPU thread', () => {
  it('a batch that is compiling leaves its blocks to the interpreter, and is installed when run() returns after it finished', () => {
    const held = new HeldCompiler();
    withCompiler(held);
    const v = vm(loop(100_000, ADD), true);
    drive(v, () => held.held.length > 0);
    const before = v.core.jit.stats();
    expect(before).toMatchObject({ batches: 1, regions: 0, instructions: 0, offThread: 0 });
    // it waits: thousands more passes, all interpreted, no second batch for the same block
    drive(v, () => v.vcpus[0].instructionsRetired > 30_000);
    expect(v.core.jit.stats()).toMatchObject({ batches: 1, regions: 0, instructions: 0 });
    held.release();
    v.runSlice(v.vcpus[0], 999); // returns: the batch is collected
    expect(v.core.jit.stats()).toMatchObject({ batches: 1, regions: 1, offThread: 1 });
    drive(v);
    const after = v.core.jit.stats();
    expect(after.instructions).toBeGreaterThan(200_000);
    expect(v.vcpus[0].gpr(0)).toBe(sum(100_000));
  });

  it('a block whose code is written while its batch compiles does not get the stale region', () => {
    // the same schedule with the JIT off, and on with the compile held across the write
    const run = (jit: boolean, held?: HeldCompiler) => {
      const v = vm(loop(20_000, OR), jit);
      drive(v, () => v.vcpus[0].instructionsRetired >= 6000);
      if (held) expect(held.held.length).toBe(1);
      v.writePhys(LOOP, Uint8Array.of(XOR)); // or eax, ecx -> xor eax, ecx: the code the batch compiled is gone
      held?.release();
      v.runSlice(v.vcpus[0], 3);
      if (held) expect(v.core.jit.stats()).toMatchObject({ regions: 0, offThread: 1 }); // collected, not installed
      // the new code's block is compiled in a batch of its own, which finishes at once from now on
      for (;;) {
        held?.release();
        const r = v.vcpus[0].instructionsRetired;
        v.runSlice(v.vcpus[0], 999);
        if (v.stopped || v.vcpus[0].instructionsRetired === r) break;
      }
      return { end: endOf(v), stats: v.core.jit.stats() };
    };
    const off = run(false);
    const held = new HeldCompiler();
    withCompiler(held);
    const on = run(true, held);
    expect(on.end).toEqual(off.end);
    expect(on.stats.regions).toBe(1); // the new code's
    expect(on.stats.offThread).toBe(2);
    expect(on.stats.instructions).toBeGreaterThan(30_000);
  });

  it('a module the compile thread refused leaves its regions interpreted and says why', () => {
    const held = new HeldCompiler();
    withCompiler(held);
    const v = vm(loop(50_000, SUB), true);
    drive(v, () => held.held.length > 0);
    held.release(true);
    drive(v);
    const s = v.core.jit.stats();
    expect(s).toMatchObject({ regions: 0, instructions: 0, errors: 1, firstError: 'refused by the test', offThread: 1 });
    expect(v.vcpus[0].gpr(0)).toBe((2 ** 32 - sum(50_000)) % 2 ** 32);
  });

  it('a batch that a hot loop waits for compiles at once, on the vCPU thread', () => {
    const held = new HeldCompiler();
    withCompiler(held);
    const v = vm(loop(100_000, AND), true, 1000);
    v.runSlice(v.vcpus[0], 1);
    // one long run(): at the default threshold the loop's block waits in the
    // batch until the interpreter ran 128k of its instructions there (less
    // than the 1M the batch would wait), which makes the batch urgent
    v.runSlice(v.vcpus[0], 200_000);
    expect(held.handed).toBe(0);
    expect(v.core.jit.stats()).toMatchObject({ batches: 1, regions: 1, offThread: 0 });
    expect(v.core.jit.stats().instructions).toBeGreaterThan(50_000);
  });

  it('TRAPEZE_JIT_COMPILE says where; another value is an error that names it', () => {
    const saved = process.env.TRAPEZE_JIT_COMPILE;
    try {
      process.env.TRAPEZE_JIT_COMPILE = 'sideways';
      expect(() => new Vm({ memoryMiB: 2 })).toThrow('TRAPEZE_JIT_COMPILE must be worker or inline (got sideways)');
      process.env.TRAPEZE_JIT_COMPILE = 'worker';
      const held = new HeldCompiler();
      withCompiler(held);
      const v = new Vm({ memoryMiB: 2, jit: { on: true, threshold: 16 } });
      enterFlat32(v, loop(10_000, CMP));
      drive(v);
      expect(held.handed).toBe(1);
    } finally {
      if (saved === undefined) delete process.env.TRAPEZE_JIT_COMPILE; else process.env.TRAPEZE_JIT_COMPILE = saved;
    }
  });

  it('a busy compile thread, or more batches compiling than the core allows, compiles inline', () => {
    // six hot loops one after another: a batch or more each
    const six = [0, 1, 2, 3, 4, 5].flatMap(() => loop(3000, ADC).slice(0, -1)).concat([0xf4]);
    const runSix = (c: HeldCompiler) => {
      withCompiler(c);
      const v = vm(six, true);
      // (short runs: each batch is flushed when run() returns, before the blocks waiting in it make it urgent)
      while (!v.stopped) v.runSlice(v.vcpus[0], 100);
      return { v, stats: v.core.jit.stats() };
    };
    // never finishes: the core hands it JIT_COMPILING_MAX (4) batches and compiles the others inline
    const capped = new HeldCompiler();
    const v = runSix(capped);
    expect(capped.handed).toBe(4);
    expect(v.stats.batches).toBeGreaterThanOrEqual(6);
    expect(v.stats.regions).toBeGreaterThanOrEqual(2); // (the last two loops' at least)
    expect(v.stats.offThread).toBe(0);
    // takes nothing: every batch inline
    const busy = new HeldCompiler(0);
    const w = runSix(busy);
    expect(busy.handed).toBe(0);
    expect(w.stats.regions).toBeGreaterThan(v.stats.regions);
    expect(w.stats.offThread).toBe(0);
    expect(endOf(w.v)).toEqual(endOf(v.v));
    const off = vm(six, false);
    while (!off.stopped) off.runSlice(off.vcpus[0], 100);
    expect(endOf(w.v)).toEqual(endOf(off));
  });

  it('the worker thread compiles a hot loop while the interpreter runs it, and the result is the interpreter\'s', async () => {
    const v = vm(loop(0xFFFFFFFF, SBB), true); // (runs ~4G passes: longer than the test)
    const deadline = Date.now() + 60_000;
    while (v.core.jit.stats().regions === 0 && Date.now() < deadline) {
      drive(v, () => v.vcpus[0].instructionsRetired % 9990 === 1); // (whole passes)
      v.runSlice(v.vcpus[0], 999);
      await new Promise((r) => setTimeout(r, 1));
    }
    const s = v.core.jit.stats();
    expect(s).toMatchObject({ regions: 1, offThread: 1, errors: 0 });
    expect(s.offThreadMs).toBeGreaterThan(0);
    const r = v.vcpus[0].instructionsRetired;
    const target = r + 1_000_000;
    while (v.vcpus[0].instructionsRetired < target) v.runSlice(v.vcpus[0], Math.min(100_000, target - v.vcpus[0].instructionsRetired));
    expect(v.core.jit.stats().instructions).toBeGreaterThan(900_000);
    const off = vm(loop(0xFFFFFFFF, SBB), false);
    while (off.vcpus[0].instructionsRetired < target) off.runSlice(off.vcpus[0], Math.min(100_000, target - off.vcpus[0].instructionsRetired));
    expect(endOf(v)).toEqual(endOf(off));
  });
});
