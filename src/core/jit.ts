// The host half of the JIT (assembly/jit/): the core writes a WebAssembly
// module of hot regions into its memory and calls env.jitCompile; this
// compiles and instantiates it against the core's memory and the core's
// callbacks, and puts each region's function in the table the core calls
// through `call_indirect`. docs/jit.md describes the whole tier.
import type { CoreExports } from './core.js';
import { host } from '../host/platform.js';
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
}

/** Whether VMs compile hot code unless they say otherwise. */
export const DEFAULT_JIT_ON = true;
let processDefault: boolean | undefined;

/** The process-wide default (`trapeze run --jit on|off`). */
export function setJitDefault(on: boolean): void { processDefault = on; }

/** The JIT setting a VM gets unless it says otherwise: --jit, then TRAPEZE_JIT=on|off, then the default. */
export function jitDefault(): JitOptions {
  const env = host().setting('TRAPEZE_JIT');
  return { on: processDefault ?? (env === undefined ? DEFAULT_JIT_ON : env !== 'off') };
}

/** The callbacks a region module imports, from the core's exports. */
type RegionImports = Pick<CoreExports, 'jitStep' | 'jitCond' | 'jitCarry' | 'jitShift' | 'jitCpuid' | 'jitRdtsc' | 'jitFill' | 'jitPort'>;

export interface JitStats {
  /** Regions installed (compiled and still current when their batch finished). */
  regions: number;
  /** Modules compiled (each a batch of regions). */
  batches: number;
  /** Host time spent compiling and instantiating, in ms. */
  compileMs: number;
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

/** The module of these bytes: from the cache (`cached`), or compiled now (and kept). */
function regionModule(bytes: Uint8Array): { module: WebAssembly.Module; cached: boolean } {
  const key = moduleKey(bytes);
  const hit = moduleCache.get(key)?.find((e) => sameBytes(e.bytes, bytes));
  if (hit) return { module: hit.module, cached: true };
  const copy = bytes.slice();
  const module = new WebAssembly.Module(copy);
  if (moduleCacheBytes + copy.length > MODULE_CACHE_BYTES) { moduleCache.clear(); moduleCacheBytes = 0; }
  moduleCacheBytes += copy.length;
  const entries = moduleCache.get(key);
  if (entries) entries.push({ bytes: copy, module }); else moduleCache.set(key, [{ bytes: copy, module }]);
  return { module, cached: false };
}

export class JitHost {
  /** The core's own entries, then the regions' (the core hands out their indices: jit/tier.ts). */
  readonly table = new WebAssembly.Table({ initial: JIT_TABLE_BASE + JIT_REGIONS, element: 'anyfunc' });
  compileMs = 0;
  /** Modules taken from the process's cache (compiled before by this or another VM) instead of compiled. */
  reused = 0;
  errors = 0;
  firstError?: string;
  /** Told of every module the core hands over (docs/jit.md shows one); the bytes are a copy. */
  onModule?: (bytes: Uint8Array, tableIndices: number[]) => void;
  private imports?: RegionImports;
  private core?: CoreExports;

  /** `port`: the core's env.portIo, which regions call for an inline port when the core has no jitPort (built before the open bus). */
  constructor(private readonly memory: WebAssembly.Memory, private readonly port: (dir: number, port: number, size: number, value: number, retired?: number) => number) {}

  attach(core: CoreExports): void {
    this.core = core;
    this.imports = core;
  }

  /** env.jitCompile: 1 when the module's functions are in the table, 0 when it was refused. */
  compile = (at: number, len: number, queue: number, n: number): number => {
    const started = performance.now();
    try {
      const core = this.imports!;
      if (this.onModule) {
        const view = new DataView(this.memory.buffer);
        const indices = Array.from({ length: n }, (_, i) => view.getUint32(queue + 32 * i, true));
        this.onModule(new Uint8Array(this.memory.buffer, at, len).slice(), indices);
      }
      const { module, cached } = regionModule(new Uint8Array(this.memory.buffer, at, len));
      if (cached) this.reused++;
      const view = new DataView(this.memory.buffer);
      const env: Record<string, WebAssembly.ImportValue> = {
        memory: this.memory, step: core.jitStep, cond: core.jitCond, carry: core.jitCarry,
        shift: core.jitShift, port: core.jitPort ?? this.port, cpuid: core.jitCpuid, fill: core.jitFill, rdtsc: core.jitRdtsc,
      };
      // regions of earlier modules that this one's call directly (a link without one never calls it)
      for (let m = 0; m < JIT_LINK_MAX; m++) {
        const index = view.getUint32(JIT_LINKS + 4 * m, true);
        env[`l${m}`] = index ? this.table.get(index) as WebAssembly.ImportValue : core.jitStep;
      }
      const instance = new WebAssembly.Instance(module, { env });
      for (let i = 0; i < n; i++) {
        this.table.set(view.getUint32(queue + 32 * i, true), instance.exports[`f${i}`] as WebAssembly.ExportValue as () => number);
      }
      return 1;
    } catch (e) {
      this.errors++;
      this.firstError ??= (e as Error).message;
      return 0;
    } finally {
      this.compileMs += performance.now() - started;
    }
  };

  stats(): JitStats {
    const s = (i: number) => this.core!.jitStat(i);
    return {
      regions: s(0), instructions: s(1), invalidated: s(2), rejected: s(3), batches: s(4), demoted: s(5), exitBound: s(6), restored: s(7), members: s(8),
      compileMs: this.compileMs, errors: this.errors, firstError: this.firstError,
    };
  }
}
