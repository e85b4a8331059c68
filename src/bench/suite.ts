// The trap benchmark: ns per exit for every exit kind (benchmark.js does the
// sampling), the plain register instruction they are compared with, MIPS on
// the compute guest, and the vmexit guest's own RDTSC figures.
import Benchmark from 'benchmark';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { EXIT_KINDS, PLAIN_INSNS, plainLoop, type Workload, type ExitKind } from './exit-kinds.js';
import { createMachine, bootMultiboot } from '../machine.js';
import { runWithHostClock } from './host-clock.js';
import { TrapezeError } from '../errors.js';
import { describeStop } from '../commands/outcome.js';

export const IMAGES = fileURLToPath(new URL('../../guest-images/', import.meta.url));

export interface BenchOptions {
  /** Short sampling and small guest runs (the test suite uses this). */
  quick?: boolean;
  /** Only these exit kinds (all when absent). */
  kinds?: string[];
  computeIterations?: number;
  vmexitIterations?: number;
  onProgress?: (done: number, total: number, what: string) => void;
}

export interface ExitResult {
  kind: string;
  label: string;
  method: string;
  nsPerExit: number;
  /** 95% margin of error of nsPerExit, in ns and as a share of it. */
  spreadNs: number;
  spreadPercent: number;
  ratioToInstruction: number;
  /** Events per iteration by construction, and as the core counted them (null: the core has no counter that moves for it). */
  eventsPerIteration: number;
  countedPerIteration: number | null;
}

export interface ComputeResult {
  iterations: number;
  instructions: number;
  seconds: number;
  checksum: string;
  /** The checksum QEMU printed for this iteration count, when recorded. */
  expectedChecksum: string | null;
}

export interface BenchResult {
  date: string;
  node: string;
  quick: boolean;
  nsPerInstruction: number;
  exits: ExitResult[];
  instructionsPerSecond: number;
  compute: ComputeResult;
  /** The vmexit guest's RDTSC figures, TSC following the host clock at 1 GHz (cycles = ns). */
  vmexitGuest: { iterations: number; cyclesPerIteration: Record<string, number> };
}

interface Sample { ns: number; moe: number }

function sample(w: Workload, maxTime: number): Sample {
  w.run(); // decode the loop, fill the TLB
  const b = new Benchmark('trap', () => w.run(), { maxTime, minSamples: 5, initCount: 1 });
  b.run();
  if (b.error) throw b.error;
  return { ns: (b.stats.mean * 1e9) / w.iterations, moe: (b.stats.moe * 1e9) / w.iterations };
}

/** Events per iteration as the core's counters see them over a few calls, once warm. */
function counted(w: Workload): number {
  w.run(); // the first pass decodes, fills and learns which frames hold page tables
  const before = w.events();
  for (let i = 0; i < 8; i++) w.run();
  return (w.events() - before) / (8 * w.iterations);
}

function measureKind(k: ExitKind, maxTime: number, nsPerInstruction: number): ExitResult {
  const w = k.make();
  const base = k.baseline?.();
  let per = counted(w);
  if (base) per -= counted(base);
  // a difference is only as good as its two sides: alternate them, keep each side's best round
  const rounds = base ? 3 : 1;
  let a = sample(w, maxTime);
  let b = base ? sample(base, maxTime) : { ns: 0, moe: 0 };
  for (let r = 1; r < rounds; r++) {
    const a2 = sample(w, maxTime), b2 = sample(base!, maxTime);
    if (a2.ns < a.ns) a = a2;
    if (b2.ns < b.ns) b = b2;
  }
  w.close?.();
  base?.close?.();
  const ns = (a.ns - b.ns) / k.eventsPerIteration;
  const moe = Math.hypot(a.moe, b.moe) / k.eventsPerIteration;
  return {
    kind: k.kind, label: k.label, method: k.method,
    nsPerExit: ns, spreadNs: moe, spreadPercent: (100 * moe) / Math.abs(ns),
    ratioToInstruction: ns / nsPerInstruction,
    eventsPerIteration: k.eventsPerIteration,
    countedPerIteration: per === 0 ? null : per,
  };
}

function runCompute(iterations: number): ComputeResult {
  let serial = '';
  const m = createMachine({ memoryMiB: 32, serial: (b) => { serial += String.fromCharCode(b); } });
  bootMultiboot(m, `${IMAGES}compute.elf`, `iterations=${iterations}`);
  const start = process.hrtime.bigint();
  const stop = m.vm.run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const checksum = /checksum=([0-9A-F]{8})/.exec(serial)?.[1];
  if (stop.kind !== 'debug-exit' || !checksum) throw new TrapezeError(`compute guest failed: ${describeStop(stop)}\n${serial}`);
  const known = readFileSync(`${IMAGES}expected/compute.checksums`, 'utf8');
  const expectedChecksum = new RegExp(`^iterations=${iterations} checksum=([0-9A-F]{8})$`, 'm').exec(known)?.[1] ?? null;
  return { iterations, instructions: m.vm.vcpus[0].instructionsRetired, seconds, checksum, expectedChecksum };
}

/** The vmexit guest's figures, each the best of three runs (the host is shared: the least disturbed run is the truest). */
function runVmexitGuest(iterations: number): Record<string, number> {
  vmexitGuestOnce(Math.max(1, iterations >> 3)); // warm the host's JIT first
  const best: Record<string, number> = {};
  for (let r = 0; r < 3; r++) {
    for (const [kind, n] of Object.entries(vmexitGuestOnce(iterations))) best[kind] = Math.min(best[kind] ?? Infinity, n);
  }
  return best;
}

function vmexitGuestOnce(iterations: number): Record<string, number> {
  let serial = '';
  const m = createMachine({ memoryMiB: 32, serial: (b) => { serial += String.fromCharCode(b); } });
  bootMultiboot(m, `${IMAGES}vmexit.elf`, `iterations=${iterations}`);
  runWithHostClock(m.vm, 2_000_000_000);
  if (!serial.includes('vmexit done')) throw new TrapezeError(`vmexit guest did not finish: ${m.vm.stopped ? describeStop(m.vm.stopped) : 'still running'}\n${serial}`);
  const out: Record<string, number> = {};
  for (const [, kind, n] of serial.matchAll(/^# (\S+) cycles\/iter=(\d+)$/gm)) out[kind] = Number(n);
  return out;
}

export function runBench(options: BenchOptions = {}): BenchResult {
  const quick = options.quick ?? false;
  const maxTime = quick ? 0.05 : 1;
  const kinds = options.kinds ? EXIT_KINDS.filter((k) => options.kinds!.includes(k.kind)) : EXIT_KINDS;
  const unknown = options.kinds?.filter((n) => !EXIT_KINDS.some((k) => k.kind === n)) ?? [];
  if (unknown.length) throw new TrapezeError(`unknown exit kind ${unknown.join(', ')} (known: ${EXIT_KINDS.map((k) => k.kind).join(', ')})`);
  const total = kinds.length + 3;
  let done = 0;
  const step = (what: string) => options.onProgress?.(done++, total, what);

  step('plain register instruction');
  const nsPerInstruction = sample(plainLoop(), maxTime).ns / PLAIN_INSNS;
  const exits: ExitResult[] = [];
  for (const k of kinds) {
    step(k.label);
    exits.push(measureKind(k, maxTime, nsPerInstruction));
  }
  const computeIterations = options.computeIterations ?? (quick ? 100 : 1600);
  step(`compute guest, iterations=${computeIterations}`);
  const compute = runCompute(computeIterations);
  const vmexitIterations = options.vmexitIterations ?? (quick ? 2000 : 100000);
  step(`vmexit guest, iterations=${vmexitIterations}`);
  const cyclesPerIteration = runVmexitGuest(vmexitIterations);
  options.onProgress?.(total, total, 'done');
  return {
    date: new Date().toISOString(), node: process.version, quick, nsPerInstruction, exits,
    instructionsPerSecond: compute.instructions / compute.seconds, compute,
    vmexitGuest: { iterations: vmexitIterations, cyclesPerIteration },
  };
}
