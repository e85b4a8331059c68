// Execution trace hooks for `trapeze trace`. They exist only in the trace
// build (asc --use TRACE=1 -> build/core-trace.wasm): in the normal core
// TRACING is false at compile time, so call sites written
// `if (TRACING) traceEvent(...)` vanish with their arguments, the import is
// not emitted, and the hot loop pays nothing.
//
// traceEvent(kind, a, b, c):
//   Insn       linear address, length, 1 = 32-bit code   (before it executes)
//   Interrupt  vector, EIP it returns to, 0               (an injected interrupt taken)
//   Exception  vector, error code, 1 = has an error code  (a fault delivered to the guest)
// src/trace/tracer.ts decodes the same numbers on the host.

export const TRACING: bool = isDefined(TRACE);

@external("env", "traceEvent")
export declare function traceEvent(kind: u32, a: u32, b: u32, c: u32): void;

export { TraceKind } from "./layout";
