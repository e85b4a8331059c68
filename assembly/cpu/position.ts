// Where the record loop (cpu/run.ts) is, for the handlers that need EIP, the
// instruction's start or the retired count (Sync) or the next EIP (Branch):
// the EIP of the block's first instruction (base), the code size's mask, and
// k, an instruction's retired count being rec / RECORD_SIZE + k. In memory,
// so that the loop keeps none of them in a register: only its record.
import { R_SKIP } from "./decode";
import { JUMP_OK } from "./fault";
import { RECORD_SIZE } from "../layout";
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

// A taken Rel jump at rec whose target is a record of its own block (R_SKIP,
// run.ts resolveTargets): the record the loop goes on at, with k moved by the
// records skipped, while such jumps are allowed (JUMP_OK: run.ts, and
// breakChains clears it) and the rest of the block still fits the budget (k at
// most kMax); 0 when the jump leaves the block.
@inline export function jumpInBlock(rec: u32, kMax: u32): u32 {
  const skip = <i32>load<i8>(rec + R_SKIP);
  if (!(skip & load<u8>(JUMP_OK))) return 0;
  const nk = posK() + 1 - <u32>skip;
  if (<i32>(nk - kMax) > 0) return 0;
  setPosK(nk);
  return rec + (<u32>skip << ctz(RECORD_SIZE));
}

