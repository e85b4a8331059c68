// The robustness fuzzer: random guests (random code, random descriptor tables)
// run for millions of instructions per seed in VMs with the standard devices,
// whose exits are handled as a VMM handles them. Every outcome must be a guest
// exception, a defined exit or a clear VM stop; anything the host throws is a
// failure, and so is any change to memory outside the guest's RAM: a second
// VM's memory, a host buffer, the core's decode tables, the memory's size.
import { createMachine } from '../machine.js';
import { Vm, type StopInfo, type PlatformHooks } from '../vm/vm.js';
import { prng } from './random-code.js';
import { randomGuest, codePool, GUEST_MODES, type GuestMode } from './random-guest.js';
import type { JitOptions } from '../core/jit.js';
import { RAM_BASE } from '../core/layout.js';
import { coreModule, type TestCoreExports } from '../core/core.js';
import { describeStop } from '../commands/outcome.js';

export interface FuzzOptions {
  /** Instructions to run for the seed (summed over its episodes). */
  instructions: number;
  /** Most instructions one random guest runs before a fresh one starts. */
  episodeInstructions?: number;
  ramBytes?: number;
  modes?: readonly GuestMode[];
  /** Wall-clock limit of one guest (a guest that runs longer is reported). */
  episodeMs?: number;
  /** Told before each guest starts (to find the one that hangs). */
  onEpisode?: (episode: number, mode: GuestMode, vm: Vm) => void;
  /** The JIT setting of the guests' VMs (default: the VM default). */
  jit?: JitOptions;
}

export interface SeedReport {
  seed: number;
  instructions: number;
  /** Random guests run (a guest ends when it stops or reaches its share). */
  episodes: number;
  /** How the guests ended, by stop kind. */
  ends: Record<string, number>;
  /** Instructions by mode. */
  byMode: Record<string, number>;
  /** Exits the VMM handled, by reason. */
  exits: Record<string, number>;
  /** Exceptions and interrupts the core delivered to the guests. */
  exceptions: number;
  /** Messages of 'error' stops (what the core does not support), by kind. */
  coreErrors: Record<string, number>;
  /** Anything unexpected: host errors, wasm traps, memory outside RAM changed. */
  failures: string[];
  /** Per guest: a hash of its final registers, flags, instruction count and RAM (for differential runs). */
  digests: number[];
  /** Instructions the guests retired in compiled code. */
  compiledInstructions: number;
  ms: number;
}

/** Run one seed. Deterministic: the same seed and options, the same run. */
export function fuzzSeed(seed: number, options: FuzzOptions): SeedReport {
  const started = Date.now();
  const rnd = prng(seed);
  const ram = options.ramBytes ?? 1 << 20;
  const modes = options.modes ?? GUEST_MODES;
  const perEpisode = options.episodeInstructions ?? 200_000;
  const report: SeedReport = {
    seed, instructions: 0, episodes: 0, ends: {}, byMode: {}, exits: {}, exceptions: 0, coreErrors: {}, failures: [], digests: [], compiledInstructions: 0, ms: 0,
  };
  const bump = (m: Record<string, number>, k: string, n = 1): void => { m[k] = (m[k] ?? 0) + n; };

  // a bystander VM and a host buffer: neither may change
  const bystander = new Vm({ name: 'bystander', memoryBytes: ram });
  bystander.fillPhys(0, ram, 0xa5);
  const bystanderBefore = checksum(bystander.core.bytes);
  const canary = new Uint8Array(1 << 16).map(() => rnd() & 0xff);
  const canaryBefore = checksum(canary);
  let pristine: string | undefined;
  const pool = codePool(rnd);

  while (report.instructions < options.instructions && report.failures.length < 10) {
    const mode = modes[rnd() % modes.length];
    const episode = report.episodes++;
    const { vm } = createMachine({ name: `fuzz-${seed}-${episode}`, memoryBytes: ram, coreModule: coreModule('core-test'), sliceInstructions: 1 + (rnd() % 100_000), jit: options.jit });
    pristine ??= decodeTables(vm);
    const size = vm.core.memory.buffer.byteLength;
    const where = `seed ${seed} episode ${episode} (${mode})`;
    let stop: StopInfo | undefined;
    try {
      randomGuest(vm, rnd, mode, pool);
      vm.platform = new InterruptSource(rnd, () => vm.requestStop({ kind: 'stopped', reason: 'no progress: an exception loop' }));
      options.onEpisode?.(episode, mode, vm);
      stop = vm.run({ maxInstructions: Math.min(perEpisode, options.instructions - report.instructions), timeoutMs: options.episodeMs ?? 20_000 });
    } catch (e) {
      report.failures.push(`${where}: the host threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    }
    const cpu = vm.vcpus[0];
    const ran = cpu.instructionsRetired;
    report.instructions += ran;
    bump(report.byMode, mode, ran);
    report.exceptions += cpu.counter('exceptions') + cpu.counter('interrupts');
    for (const [k, n] of Object.entries(vm.exitStats())) bump(report.exits, k, n);
    if (stop) {
      bump(report.ends, stop.kind === 'stopped' ? 'exception-loop' : stop.kind);
      if (stop.kind === 'error') bump(report.coreErrors, describeStop(stop).replace(/0x[0-9a-f]+/g, 'X'));
    }
    report.digests.push(finalState(vm, ram));
    if (vm.jitOn) report.compiledInstructions += vm.core.jit.stats().instructions;
    if (vm.core.memory.buffer.byteLength !== size) report.failures.push(`${where}: the core's memory changed size`);
    if (decodeTables(vm) !== pristine) report.failures.push(`${where}: the core's decode tables changed`);
  }
  if (checksum(bystander.core.bytes) !== bystanderBefore) report.failures.push(`seed ${seed}: another VM's memory changed`);
  if (checksum(canary) !== canaryBefore) report.failures.push(`seed ${seed}: a host buffer changed`);
  report.ms = Date.now() - started;
  return report;
}

const STUCK_ENTRIES = 50;

/**
 * A platform that raises a random interrupt vector now and then, as a timer
 * and devices would, and wakes a guest halted with interrupts on: it keeps
 * random code from settling in one loop and reaches the delivery paths.
 */
class InterruptSource implements PlatformHooks {
  private untilTick: number;
  private pending = -1;
  private idleEntries = 0;
  /** `stuck` is told when entries keep retiring nothing (exceptions that fault again). */
  constructor(private readonly rnd: () => number, private readonly stuck: () => void) { this.untilTick = this.interval(); }
  private interval(): number { return 1 + (this.rnd() % 20_000); }
  private vector(): number { return this.rnd() % 100 < 80 ? 32 + (this.rnd() % 224) : this.rnd() & 0xff; }
  budgetLimit(): number { return this.untilTick; }
  retired(_vcpu: unknown, n: number): void {
    this.idleEntries = n ? 0 : this.idleEntries + 1;
    if (this.idleEntries === STUCK_ENTRIES) this.stuck();
    this.untilTick -= n;
    if (this.untilTick <= 0) { this.pending = this.vector(); this.untilTick = this.interval(); }
  }
  acknowledgeInterrupt(): number { const v = this.pending; this.pending = -1; return v; }
  idle(): boolean { this.pending = this.vector(); return true; }
}

/** One line per seed, then the outcomes. */
export function formatReport(r: SeedReport): string {
  const list = (m: Record<string, number>): string =>
    Object.entries(m).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  const mips = r.ms ? (r.instructions / r.ms / 1000).toFixed(1) : '-';
  const lines = [
    `seed ${r.seed}: ${r.instructions} instructions in ${r.episodes} guests, ${r.ms} ms (${mips} MIPS), ${r.failures.length} failures`,
    `  by mode: ${list(r.byMode)}`,
    `  guests ended by: ${list(r.ends)}`,
    `  exits: ${list(r.exits)}; exceptions and interrupts delivered: ${r.exceptions}`,
  ];
  for (const [msg, n] of Object.entries(r.coreErrors)) lines.push(`  core error x${n}: ${msg}`);
  for (const f of r.failures) lines.push(`  FAILURE ${f}`);
  return lines.join('\n');
}

/** A hash of what a guest can see at its end: registers, EIP, EFLAGS, instructions retired, RAM. */
function finalState(vm: Vm, ram: number): number {
  const { exports, view, bytes } = vm.core;
  const base = exports.stateOffset(0);
  const regs = new Uint32Array(12);
  for (let i = 0; i < 9; i++) regs[i] = view.getUint32(base + 4 * i, true);
  regs[9] = exports.getEflags(0);
  regs[10] = vm.vcpus[0].instructionsRetired;
  regs[11] = checksum(bytes.subarray(RAM_BASE, RAM_BASE + ram));
  return checksum(new Uint8Array(regs.buffer));
}

/**
 * The differential fuzz: the same seed with the JIT (compiling blocks after
 * `threshold` runs) and without; every guest must end in the same state after
 * the same instructions. Returns the failures (empty when they agree) and the
 * two reports.
 */
export function fuzzJitDiff(seed: number, options: FuzzOptions, threshold = 2): { failures: string[]; jit: SeedReport; interpreter: SeedReport } {
  // (regions compile inline: installed at a known point, so that a seed's run is reproducible)
  const jit = fuzzSeed(seed, { ...options, jit: { on: true, threshold, demote: false, compile: 'inline' } });
  const interpreter = fuzzSeed(seed, { ...options, jit: { on: false } });
  const failures = [...jit.failures, ...interpreter.failures];
  const first = jit.digests.findIndex((d, i) => d !== interpreter.digests[i]);
  if (first >= 0 || jit.digests.length !== interpreter.digests.length) {
    failures.push(`seed ${seed}: guest ${first} ends differently with the JIT (and ${jit.digests.filter((d, i) => d !== interpreter.digests[i]).length} others)`);
  }
  if (jit.instructions !== interpreter.instructions) failures.push(`seed ${seed}: ${jit.instructions} instructions with the JIT, ${interpreter.instructions} without`);
  return { failures, jit, interpreter };
}

function checksum(b: Uint8Array): number {
  const w = new Int32Array(b.buffer, b.byteOffset, b.byteLength >>> 2);
  let h = 0x811c9dc5;
  for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w[i], 0x01000193);
  return h >>> 0;
}

/** What the core's decoder makes of every opcode in both maps and both code
 * sizes: it reads the opcode tables in the core's static data, which no guest
 * may change. */
function decodeTables(vm: Vm): string {
  const { bytes } = vm.core;
  const exports = vm.core.exports as TestCoreExports;
  const input = exports.decoderProbeInput();
  const out: number[] = [];
  for (let op = 0; op < 512; op++) {
    const code = op < 256 ? [op, 0x84, 0x24, 1, 2, 3, 4, 5, 6, 7, 8] : [0x0f, op & 0xff, 0x84, 0x24, 1, 2, 3, 4, 5, 6, 7];
    bytes.fill(0, input, input + 15);
    bytes.set(code, input);
    out.push(exports.decoderProbe(0), exports.decoderProbe(1));
  }
  return out.join(',');
}
