// The Node options Trapeze runs under: bin/trapeze.js's first line, the npm
// scripts that start it, and the peer benchmark's Trapeze processes (a test
// checks that they agree with this list).
//
// --v8-pool-size=1: V8 runs its background work (mostly optimizing the JIT's
// region modules: ~2.8 s of CPU in Linux's boot) on one thread instead of
// Node's four. On a 2-core machine the four took turns on the vCPU thread's
// core; with one, Linux's boot to its shell took 4.73-4.92 s against
// 5.00-5.29 s (4 alternating rounds, docs/jit.md "V8's tiers"). Limiting V8's
// wasm compile tasks to one (--wasm-num-compilation-tasks=1), lowering the
// background threads' priority, or compiling on the main thread alone
// (--single-threaded) each left the boot as it was.
export const NODE_FLAGS: readonly string[] = ['--v8-pool-size=1'];
