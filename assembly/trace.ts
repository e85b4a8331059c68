// Execution trace hooks for `trapeze trace`. They exist only in the trace
// build (asc --use TRACE=1 -> build/core-trace.wasm): in the normal core
// `isDefined(TRACE)` is false at compile time, so neither the calls nor the
// import are emitted and the hot loop pays nothing.
//
// traceEvent(kind, a, b, c):
//   Insn       linear address, length, 1 = 32-bit code   (before it executes)
//   Interrupt  vector, EIP it returns to, 0               (an injected interrupt taken)
//   Exception  vector, error code, 1 = has an error code  (a fault delivered to the guest)
// src/trace/events.ts decodes the same numbers on the host.

@external("env", "traceEvent")
declare function hostTraceEvent(kind: u32, a: u32, b: u32, c: u32): void;

export const enum TraceKind { Insn = 1, Interrupt = 2, Exception = 3 }

@inline export function trace(kind: u32, a: u32, b: u32, c: u32): void {
  if (isDefined(TRACE)) hostTraceEvent(kind, a, b, c);
}
