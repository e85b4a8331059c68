// Where the record loop (cpu/run.ts) is, for the handlers that need EIP, the
// instruction's start or the retired count (Sync) or the next EIP (Branch):
// the EIP of the block's first instruction (base), the code size's mask, and
// k, an instruction's retired count being rec / RECORD_SIZE + k. In memory,
// so that the loop keeps none of them in a register: only its record.
const AT: u32 = <u32>memory.data(12);
@inline export function posBase(): u32 { return load<u32>(AT); }
@inline export function posMask(): u32 { return load<u32>(AT, 4); }
@inline export function posK(): u32 { return load<u32>(AT, 8); }
@inline export function setPos(base: u32, mask: u32, k: u32): void {
  store<u32>(AT, base);
  store<u32>(AT, mask, 4);
  store<u32>(AT, k, 8);
}
@inline export function setPosK(k: u32): void { store<u32>(AT, k, 8); }
