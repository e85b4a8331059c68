// What a host platform provides to the VMM: the one place that says it.
// The core, the VM, its devices, loaders, the scheduler and the hypervisor
// never import node: modules; whatever they need from the host (a clock, the
// core's bytes, files, disk images, compression) they ask of `host()`.
// Two hosts implement it: src/host/node/ (the CLI, benchmarks, tests) and
// src/host/browser.ts (the playground page). An entry point installs one
// before it builds a VM.
import { TrapezeError } from '../errors.js';
import type { BlockDevice } from '../storage/block-device.js';
import type { DiskConfig } from '../hypervisor/config.js';

/** The builds of the core: the normal one, and the trace build (same code plus trace hooks). */
export type CoreBuild = 'core' | 'core-trace' | 'core-test';

/** Files the user names: kernels, modules, configs, snapshots. */
export interface HostFiles {
  /** A whole file; a TrapezeError that names it (as `kind`) when it cannot be read. */
  read(path: string, kind?: string): Uint8Array;
  /** Whether `path` names a regular file. */
  isFile(path: string): boolean;
  /** `path` with links resolved, when it exists (two names of one file compare equal); otherwise `path`. */
  canonical(path: string): string;
  /**
   * Write `bytes` to `path` whole or not at all; an existing file is replaced
   * only with `overwrite` (otherwise a TrapezeError).
   */
  writeWhole(path: string, bytes: Uint8Array, overwrite: boolean): void;
  /** Remove a file if it exists. */
  remove(path: string): void;
  /** `path` made absolute against the working folder (or `base`). */
  resolve(path: string, base?: string): string;
  /** The folder part of `path`. */
  dirname(path: string): string;
}

export interface HostPlatform {
  readonly name: 'node' | 'browser';
  /** Nanoseconds from a monotonic clock (an arbitrary origin). */
  nowNs(): number;
  /** Block the thread for `ms`: every vCPU halts until a wall-clock timer. */
  sleepMs(ms: number): void;
  /** The bytes of the core's WebAssembly (build/<build>.wasm). */
  coreWasm(build: CoreBuild): Uint8Array;
  /** Compile or instantiate the core under the host's wasm tuning (Node: V8's tiering budget). */
  tuneCore<T>(make: () => T): T;
  /** Compiles the JIT's region modules off the main thread (Node: a worker thread); absent: the JIT compiles inline. */
  moduleCompiler?(): ModuleCompiler;
  /** A setting the user gave the host (Node: an environment variable), e.g. TRAPEZE_JIT. */
  setting(name: string): string | undefined;
  readonly files: HostFiles;
  /** A PC's disk images, checked and opened; with `snapshot`, writes go to a throwaway overlay. */
  openDiskImages(paths: string[], snapshot: boolean): BlockDevice[];
  /** A hypervisor VM's disk from its config (overlay, quota, rate limits). */
  openDisk(config: DiskConfig): BlockDevice;
  /** Snapshot files are gzip-compressed. */
  gzip(bytes: Uint8Array): Uint8Array;
  gunzip(bytes: Uint8Array): Uint8Array;
}

/** A module compiled off the main thread, or why WebAssembly refused it; `ms` is the compile's time on its thread. */
export type CompiledModule = { module: WebAssembly.Module; ms: number } | { error: string; ms: number };

/** Compiles WebAssembly modules on another thread for a caller that never waits. */
export interface ModuleCompiler {
  /** Start compiling a copy of `bytes`, and let `poll` call `done` once it is compiled; false when it cannot take it now. */
  compile(bytes: Uint8Array, done: (result: CompiledModule) => void): boolean;
  /** Call `done` for each compile that has finished; returns at once. */
  poll(): void;
}

let current: HostPlatform | undefined;

/** Make `platform` the host every later call of `host()` answers with. */
export function installHost(platform: HostPlatform): void {
  current = platform;
}

/** The installed host platform. */
export function host(): HostPlatform {
  if (!current) {
    throw new TrapezeError('no host platform is installed: import src/host/node/index.ts (Node) or call installBrowserHost() (browser) before building a VM');
  }
  return current;
}
