// Block chaining: each decoded block remembers the blocks that followed it
// (two successors, keyed by EIP), so the run loop can go from block to block
// without the full lookup (CS limit, soft TLB, hash, page generation). A link
// holds while nothing it assumed has changed; whatever could change it —
// a TLB entry dropped or replaced, a CS load, a CPL change, a write to a code
// page, a block decoded (its slot may have held a linked block), a new entry
// from the host — moves the epoch on, and every link made before is void.
// (A jump inside a block assumes what a link does: it stops too.)
import { allowJumps } from "./fault";
export let chainEpoch: u32 = 1;
@inline export function breakChains(): void { chainEpoch++; allowJumps(false); }
