// The host half of the JIT (assembly/jit/): the core writes a WebAssembly
// module of hot regions into its memory and calls env.jitCompile; this
// compiles and instantiates it against the core's memory and the core's
// callbacks, and puts each region's function in the table the core calls
// through `call_indirect`. Where the host can, the compile runs on another
// thread and the core collects the batch when run() returns (env.jitCollect).
// docs/jit.md describes the whole tier.
import type { CoreExports } from './core.js';
import { host, type CompiledModule, type ModuleCompiler } from '../host/platform.js';
import { TrapezeError } from '../errors.js';
import { JIT_LINKS, JIT_LINK_MAX, JIT_REGIONS, JIT_TABLE_BASE } from './layout.js';

/** Blocks compile once they ran this many times in the interpreter (docs/jit.md: the tiering policy). */
export const DEFAULT_JIT_THRESHOLD = 1000;

export interface JitOptions {
  /** Compile hot blocks (default: on). */
  on?: boolean;
  /** Interpreter runs of a block before it is compiled. */
  threshold?: number;
  /** Give a region back to the interpreter when most of its runs stop early (default: yes; differential tests say no, to keep every region). */
  demote?: boolean;
  /**
   * Where region modules compile: 'inline' (at once, on the vCPU's thread) or
   * 'worker' (on another thread where the host has one, except a batch that hot
   * blocks wait for; the regions arrive a few milliseconds later). Default:
   * TRAPEZE_JIT_COMPILE, else 'inline' (docs/jit.md: on a 2-core machine the
   * compile thread took no time off Linux's boot).
   */
  compile?: 'worker' | 'inline';
}

/** Whether VMs compile hot code unless they say otherwise. */
export const DEFAULT_JIT_ON = true;
let processDefault: boolean | undefined;

/** The process-wide default (`trapeze run --jit on|off`). */
export function setJitDefault(on: boolean): void { processDefault = on; }

/** The JIT setting a VM gets unless it says otherwise: --jit, then TRAPEZE_JIT=on|off, then the default; TRAPEZE_JIT_COMPILE=worker|inline. */
export function jitDefault(): JitOptions {
  const env = host().setting('TRAPEZE_JIT');
  const compile = host().setting('TRAPEZE_JIT_COMPILE') ?? 'inline';
  if (compile !== 'worker' && compile !== 'inline') throw new TrapezeError(`TRAPEZE_JIT_COMPILE must be worker or inline (got ${compile})`);
  return { on: processDefault ?? (env === undefined ? DEFAULT_JIT_ON : env !== 'off'), compile };
}

/** The callbacks a region module imports, from the core's exports. */
type RegionImports = Pick<CoreExports, 'jitStep' | 'jitCond' | 'jitCarry' | 'jitShift' | 'jitCpuid' | 'jitRdtsc' | 'jitFill' | 'jitPort'>;

export interface JitStats {
  /** Regions installed (compiled and still current when their batch finished). */
  regions: number;
  /** Modules compiled (each a batch of regions). */
  batches: number;
  /** The vCPU thread's time spent compiling and instantiating, in ms. */
  compileMs: number;
  /** Modules compiled on another thread, and that thread's time for them in ms. */
  offThread: number;
  offThreadMs: number;
  /** Compiled regions dropped: their code was written, or their block was evicted and not decoded again soon enough. */
  invalidated: number;
  /** Regions given back to their block when it was decoded again after an eviction. */
  restored: number;
  /** Blocks taken into the regions compiled (blocks of the same page their branches lead to: docs/jit.md). */
  members: number;
  /** Hot blocks left to the interpreter (too few instructions with an emitter, or 16-bit code). */
  rejected: number;
  /** Regions given back to the interpreter because most of their runs stopped early (a TLB miss, an exit). */
  demoted: number;
  /** Hot blocks left to the interpreter because most of their runs ended in an exit (port I/O, CPUID, MMIO...). */
  exitBound: number;
  /** Instructions retired inside compiled regions. */
  instructions: number;
  /** Modules WebAssembly refused (a core bug: their regions stay interpreted). */
  errors: number;
  firstError?: string;
}

/**
 * Region modules compiled in this process, by their bytes: a VM that compiles
 * the same code again (another VM of the same guest, a benchmark's timed run
 * after its warm-up, a reset) instantiates the module it already has instead
 * of paying V8's ~0.5 ms per module again. (V8 keeps such a cache itself, but
 * weakly: once the first VM's instances are collected, the module is compiled
 * again.) Keyed by a hash of the length and both ends, then compared whole;
 * dropped entirely when it holds MODULE_CACHE_BYTES of modules.
 */
const MODULE_CACHE_BYTES = 8 << 20;
const moduleCache = new Map<number, { bytes: Uint8Array; module: WebAssembly.Module }[]>();
let moduleCacheBytes = 0;

function moduleKey(b: Uint8Array): number {
  let h = Math.imul(0x811c9dc5 ^ b.length, 0x01000193);
  const ends = Math.min(b.length, 256);
  for (let i = 0; i < ends; i++) h = Math.imul(h ^ b[i], 0x01000193);
  for (let i = b.length - ends; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h >>> 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The module of these bytes compiled before, if the cache has it. */
function cachedModule(bytes: Uint8Array): WebAssembly.Module | undefined {
  return moduleCache.get(moduleKey(bytes))?.find((e) => sameBytes(e.bytes, bytes))?.module;
}

/** Keep `module`, compiled from `bytes` (a copy the cache may keep). */
function keepModule(bytes: Uint8Array, module: WebAssembly.Module): void {
  if (moduleCacheBytes + bytes.length > MODULE_CACHE_BYTES) { moduleCache.clear(); moduleCacheBytes = 0; }
  moduleCacheBytes += bytes.length;
  const key = moduleKey(bytes);
  const entries = moduleCache.get(key);
  if (entries) entries.push({ bytes, module }); else moduleCache.set(key, [{ bytes, module }]);
}

/** Bytes of one queue entry (jit/tier.ts Q_SIZE); its first word is the region's table index. */
const QUEUE_ENTRY = 32;
// The core's answers to env.jitCompile (jit/tier.ts).
const REFUSED = 0, INSTALLED = 1, OFF_THREAD = 2;

/** A batch compiling on another thread: what installing it needs, taken when the core handed it over. */
interface CompilingBatch {
  /** Its queue entries, which the core reads back when it installs the batch. */
  entries: Uint8Array;
  n: number;
  /** The earlier regions it calls directly, as they were when it was built. */
  links: WebAssembly.ImportValue[];
  result?: CompiledModule;
}

export class JitHost {
  /** The core's own entries, then the regions' (the core hands out their indices: jit/tier.ts). */
  readonly table = new WebAssembly.Table({ initial: JIT_TABLE_BASE + JIT_REGIONS, element: 'anyfunc' });
  compileMs = 0;
  offThread = 0;
  offThreadMs = 0;
  /** Modules taken from the process's cache (compiled before by this or another VM) instead of compiled. */
  reused = 0;
  errors = 0;
  firstError?: string;
  /** Told of every module the core hands over (docs/jit.md shows one); the bytes are a copy. */
  onModule?: (bytes: Uint8Array, tableIndices: number[]) => void;
  private imports?: RegionImports;
  private core?: CoreExports;
  private readonly compileThread: boolean;
  /** The host's compile thread, asked for when the first batch may go to it. */
  private compiler?: ModuleCompiler;
  /** Batches handed to the compiler, oldest first (it answers in order). */
  private readonly compiling: CompilingBatch[] = [];

  /**
   * `port`: the core's env.portIo, which regions call for an inline port when
   * the core has no jitPort (built before the open bus). `compile`: where
   * modules compile (JitOptions).
   */
  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly port: (dir: number, port: number, size: number, value: number, retired?: number) => number,
    compile: JitOptions['compile'] = 'inline',
  ) {
    this.compileThread = compile === 'worker' && host().moduleCompiler !== undefined;
  }

  attach(core: CoreExports): void {
    this.core = core;
    this.imports = core;
  }

  /**
   * env.jitCompile: INSTALLED when the module's functions are in the table,
   * REFUSED when WebAssembly refused it, OFF_THREAD when it compiles on another
   * thread (the core may allow that: `offThread`) and `collect` hands it back.
   */
  compile = (at: number, len: number, queue: number, n: number, offThread = 0): number => {
    const started = performance.now();
    try {
      const entries = new Uint8Array(this.memory.buffer, queue, QUEUE_ENTRY * n);
      const bytes = new Uint8Array(this.memory.buffer, at, len);
      if (this.onModule) this.onModule(bytes.slice(), tableIndices(entries, n));
      const links = this.links();
      let module = cachedModule(bytes);
      if (module) this.reused++;
      else if (offThread && this.compileThread && this.toCompileThread(bytes, entries, n, links)) return OFF_THREAD;
      else {
        const copy = bytes.slice();
        module = new WebAssembly.Module(copy);
        keepModule(copy, module);
      }
      this.instantiate(module, links, entries, n);
      return INSTALLED;
    } catch (e) {
      this.refused(e);
      return REFUSED;
    } finally {
      this.compileMs += performance.now() - started;
    }
  };

  /**
   * env.jitCollect: the oldest batch compiling on another thread, if it has
   * finished: its functions go in the table, its queue entries back to `done`;
   * n | 0x10000 when installed, n when refused, 0 when none has finished.
   */
  collect = (done: number): number => {
    this.compiler?.poll();
    const batch = this.compiling[0];
    if (!batch?.result) return 0;
    const started = performance.now();
    this.compiling.shift();
    const result = batch.result;
    this.offThread++;
    this.offThreadMs += result.ms;
    let installed = false;
    try {
      if (!('module' in result)) throw new Error(result.error);
      this.instantiate(result.module, batch.links, batch.entries, batch.n);
      installed = true;
    } catch (e) {
      this.refused(e);
    }
    new Uint8Array(this.memory.buffer, done, batch.entries.length).set(batch.entries);
    this.compileMs += performance.now() - started;
    return batch.n | (installed ? 0x10000 : 0);
  };

  /** Hand the batch to the host's compile thread; false when it cannot take it now. */
  private toCompileThread(bytes: Uint8Array, entries: Uint8Array, n: number, links: WebAssembly.ImportValue[]): boolean {
    const batch: CompilingBatch = { entries: entries.slice(), n, links };
    const copy = bytes.slice(); // (what the cache keeps)
    this.compiler ??= host().moduleCompiler!();
    const taken = this.compiler.compile(copy, (result) => {
      batch.result = result;
      if ('module' in result) keepModule(copy, result.module);
    });
    if (taken) this.compiling.push(batch);
    return taken;
  }

  /** Regions of earlier modules that the module's regions call directly (the core put their indices at JIT_LINKS). */
  private links(): WebAssembly.ImportValue[] {
    const view = new DataView(this.memory.buffer);
    return Array.from({ length: JIT_LINK_MAX }, (_, m) => {
      const index = view.getUint32(JIT_LINKS + 4 * m, true);
      // (a link without one never calls it)
      return index ? this.table.get(index) as WebAssembly.ImportValue : this.imports!.jitStep;
    });
  }

  /** Instantiate a batch's module and put region i at the table index of queue entry i. */
  private instantiate(module: WebAssembly.Module, links: WebAssembly.ImportValue[], entries: Uint8Array, n: number): void {
    const core = this.imports!;
    const env: Record<string, WebAssembly.ImportValue> = {
      memory: this.memory, step: core.jitStep, cond: core.jitCond, carry: core.jitCarry,
      shift: core.jitShift, port: core.jitPort ?? this.port, cpuid: core.jitCpuid, fill: core.jitFill, rdtsc: core.jitRdtsc,
    };
    links.forEach((f, m) => { env[`l${m}`] = f; });
    const instance = new WebAssembly.Instance(module, { env });
    tableIndices(entries, n).forEach((index, i) => this.table.set(index, instance.exports[`f${i}`] as WebAssembly.ExportValue as () => number));
  }

  private refused(e: unknown): void {
    this.errors++;
    this.firstError ??= (e as Error).message;
  }

  stats(): JitStats {
    const s = (i: number) => this.core!.jitStat(i);
    return {
      regions: s(0), instructions: s(1), invalidated: s(2), rejected: s(3), batches: s(4), demoted: s(5), exitBound: s(6), restored: s(7), members: s(8),
      compileMs: this.compileMs, offThread: this.offThread, offThreadMs: this.offThreadMs, errors: this.errors, firstError: this.firstError,
    };
  }
}

/** The table index of each of a batch's n queue entries. */
function tableIndices(entries: Uint8Array, n: number): number[] {
  const view = new DataView(entries.buffer, entries.byteOffset, entries.byteLength);
  return Array.from({ length: n }, (_, i) => view.getUint32(QUEUE_ENTRY * i, true));
}
