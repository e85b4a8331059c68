// The test build of the core (build/core-test.wasm): the release core's exports
// plus the self-tests the tests call, built with SELF_CHECKS (cpu/fault.ts). The
// release core carries none of them.
export * from "./index";
export { layoutProbe } from "./probe";
export { decoderProbe, decoderProbeInput } from "./decoder-probe";
