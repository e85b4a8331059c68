// Loads core.wasm once and makes one instance per VM. The VM's RAM is part of
// the instance's memory, so two VMs never share a byte.
import { host, type CoreBuild } from '../host/platform.js';
import { RAM_BASE, MAX_VCPUS } from './layout.js';
import { TrapezeError } from '../errors.js';
import { JitHost, DEFAULT_JIT_THRESHOLD, type JitOptions } from './jit.js';

/** The functions core.wasm exports (see assembly/index.ts). */
export interface CoreExports {
  init(ramBytes: number, vcpus: number): void;
  enter(vcpu: number, budget: number): number;
  stateOffset(vcpu: number): number;
  resetVcpu(vcpu: number): void;
  setSegment(vcpu: number, seg: number, selector: number, base: number, limit: number, attr: number): void;
  stateChanged(vcpu: number): void;
  getEflags(vcpu: number): number;
  setEflags(vcpu: number, value: number): void;
  injectException(vcpu: number, vector: number, hasCode: number, code: number): void;
  // the exit protocol (how the host answers an exit of `vcpu`)
  /** The data of an IN: the instruction completes on the vCPU's next entry. */
  completeIo(vcpu: number, value: number): void;
  /** The value of an MMIO read: the instruction runs again on the next entry and takes it. */
  completeMmioRead(vcpu: number, value: number): void;
  /** A filter allowed the RDMSR/WRMSR that asked: it runs again, let through once. */
  grantMsr(vcpu: number): void;
  /** The instruction that exited faults with `vector` instead (code < 0: none); a Shutdown exit when it cannot be delivered. */
  failInstruction(vcpu: number, vector: number, code: number): void;
  invalidatePhys(phys: number, len: number): void;
  flushTlb(): void;
  /** Guest-physical [start, start+size) reads as RAM at `backing`, read-only (firmware ROM); size 0 removes it. */
  romWindow(start: number, size: number, backing: number): void;
  /** Where the inline-port bitmap is (one bit per port; absent in cores built before it). */
  inlinePorts?(): number;
  /** Where the bitmap of ports whose IN is inline is (absent in cores built before it: their IN uses inlinePorts). */
  inlineReadPorts?(): number;
  /** Where the open-bus bitmap is (inline ports no device owns, answered in the core), and the u32 count of those accesses (absent in cores built before them). */
  openPorts?(): number;
  openBusCount?(): number;
  /** 1: report MMU events to mmuHooks.event; 0: stop. */
  traceMmu(on: number): void;
  counterCount(): number;
  ramBase(): number;
  maxVcpus(): number;
  /** on 1: compile blocks that ran `threshold` times in the interpreter; 0: interpreter only. */
  /** demote 1: a region whose runs mostly stop early (TLB misses, exits) goes back to the interpreter. */
  jit(on: number, threshold: number, demote: number): void;
  /** JIT counters by index (assembly/jit/tier.ts jitStat). */
  jitStat(i: number): number;
  // what compiled regions call back (assembly/jit/tier.ts)
  jitStep(rec: number, ip: number, done: number): number;
  jitCond(cc: number): number;
  jitCarry(): number;
  jitShift(op: number, sz: number, v: number, count: number): number;
  jitCpuid(): number;
  jitRdtsc(retired: number): number;
  jitFill(lin: number, how: number, ip: number, bytes: number): number;
  /** An IN/OUT to an inline port: the open bus in the core, any other by env.portIo (absent in cores built before the open bus). */
  jitPort?(dir: number, port: number, size: number, value: number, retired: number): number;
}

/** The test build's extra exports (assembly/index-test.ts): self-tests the release core leaves out. */
export interface TestCoreExports extends CoreExports {
  /** Writes a name-derived value at every contract field; returns how many (scripts/check-layout.mjs). */
  layoutProbe(): number;
  /** Decode the 15 bytes at decoderProbeInput(): handler id << 8 | length (assembly/decoder-probe.ts). */
  decoderProbe(big: number): number;
  decoderProbeInput(): number;
}

/** Host functions only the trace build of the core calls (assembly/trace.ts). */
export interface TraceHooks {
  traceEvent(kind: number, a: number, b: number, c: number): void;
}

export type { CoreBuild };
const compiled = new Map<CoreBuild, WebAssembly.Module>();

/** The compiled core, compiled once per process. */
export function coreModule(build: CoreBuild = 'core'): WebAssembly.Module {
  let module = compiled.get(build);
  if (!module) {
    const bytes = host().coreWasm(build);
    module = host().tuneCore(() => new WebAssembly.Module(bytes as BufferSource));
    compiled.set(build, module);
  }
  return module;
}

export const PAGE = 65536;
export const MIN_RAM = 1 << 20;
/** Largest guest RAM: the core's page tables track up to 2 GiB. */
export const MAX_RAM = 2048 * (1 << 20);

export interface CoreInstance {
  exports: CoreExports;
  memory: WebAssembly.Memory;
  /** View over the whole memory; never detached, since the memory never grows. */
  view: DataView;
  bytes: Uint8Array;
  ramBytes: number;
  /** Receives the core's MMU events while `exports.traceMmu(1)` is on (src/mmu/trace.ts). */
  mmuHooks: MmuHooks;
  /** Answers an IN/OUT to an inline port from inside the run (the Vm sets it). */
  ioHooks: IoHooks;
  /** The JIT's host half: the function table and the compile callback. */
  jit: JitHost;
}

/**
 * Answers an IN/OUT to an inline port (the Vm). A method of a class, not a
 * closure per VM: the call site in env.portIo then always calls the same
 * function, so V8's optimized code for the path outlives the VM it was
 * warmed on (a new closure made the next VM deoptimize and warm it again,
 * ~2-3 ms inside its first port loop).
 */
export interface PortHandler {
  /**
   * dir 0: write `value` to `port`; dir 1: read it (the result). `size` 1, 2 or 4.
   * `retired` (reads): the instructions the run has retired, this IN included
   * (what an exit there would report; undefined from cores built before it).
   */
  inlinePortIo(dir: number, port: number, size: number, value: number, retired?: number): number;
}

export interface IoHooks {
  handler: PortHandler;
}

class NoPortHandler implements PortHandler {
  inlinePortIo(): number { throw new Error('inline port I/O before the VM set its handler'); }
}

export interface MmuHooks {
  event?: (kind: number, lin: number, entry: number, shadow: number) => void;
}

/** A core compiled from another wasm file (a benchmark compares an earlier build with this one). */
export function coreModuleFrom(path: string): WebAssembly.Module {
  const bytes = host().files.read(path, 'a core');
  try {
    return host().tuneCore(() => new WebAssembly.Module(bytes as BufferSource));
  } catch (e) {
    throw new TrapezeError(`${path}: not a WebAssembly core (${(e as Error).message})`);
  }
}

/** One core instance with `ramBytes` of guest RAM and `vcpus` vCPUs (of `module`, or of the build's core). */
export function createCore(
  ramBytes: number, vcpus: number, trace?: TraceHooks, module?: WebAssembly.Module, jitOptions: JitOptions = {},
): CoreInstance {
  if (!Number.isInteger(ramBytes) || ramBytes < MIN_RAM || ramBytes > MAX_RAM || ramBytes % 4096 !== 0) {
    throw new TrapezeError(`guest RAM must be a whole number of 4 KiB pages between 1 MiB and 2048 MiB (got ${ramBytes} bytes)`);
  }
  if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > MAX_VCPUS) {
    throw new TrapezeError(`vcpus must be between 1 and ${MAX_VCPUS} (got ${vcpus})`);
  }
  // sized once, at creation: the maximum is the VM's memory quota
  const pages = Math.ceil((RAM_BASE + ramBytes) / PAGE);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const mmuHooks: MmuHooks = {};
  const mmuEvent = (k: number, l: number, e: number, s: number) => mmuHooks.event?.(k, l, e, s);
  const ioHooks: IoHooks = { handler: new NoPortHandler() };
  const portIo = (d: number, p: number, s: number, v: number, n?: number) => ioHooks.handler.inlinePortIo(d, p, s, v, n);
  const jit = new JitHost(memory, portIo, jitOptions.compile);
  const env: WebAssembly.ModuleImports = { memory, mmuEvent, portIo, table: jit.table, jitCompile: jit.compile, jitCollect: jit.collect };
  if (trace) env.traceEvent = trace.traceEvent;
  const instance = host().tuneCore(() => new WebAssembly.Instance(module ?? coreModule(trace ? 'core-trace' : 'core'), { env }));
  const exports = instance.exports as unknown as CoreExports;
  jit.attach(exports);
  exports.init(ramBytes, vcpus);
  // the trace build keeps the interpreter: every instruction is seen
  // (a core built before the JIT has no `jit` export)
  exports.jit?.(!trace && jitOptions.on === true ? 1 : 0, jitOptions.threshold ?? DEFAULT_JIT_THRESHOLD, jitOptions.demote === false ? 0 : 1);
  return {
    exports,
    memory,
    view: new DataView(memory.buffer),
    bytes: new Uint8Array(memory.buffer),
    ramBytes,
    mmuHooks,
    ioHooks,
    jit,
  };
}
