// The MMU event channel: the teaching view of the shadow page table. When the
// host turns it on, each fill, guest #PF, invalidation and flush is reported
// through one imported host function. Callers test `mmuTracing` first, and only
// on slow paths, so a TLB hit never pays for it.
//
// mmuEvent(kind, lin, entry, shadow), kind = MmuEvent | cause << 4:
//   Fill       lin, the guest entry that maps it (PTE, or PDE of a 4 MiB page; 0 without paging),
//              the shadow entry: host address | S/U readable | ShadowWrite bits
//   Fault      CR2, the guest entry that refused (0 when absent), the #PF error code
//   Drop       lin, guest-phys of the entry it came from, the shadow entry dropped; cause DropCause
//   Flush      0, entries dropped, global entries kept; cause FlushCause
//   CodeWrite  guest-phys page whose decoded blocks were dropped, 0, 0
// src/mmu/trace.ts decodes the same numbers on the host.

@external("env", "mmuEvent")
declare function hostMmuEvent(kind: u32, lin: u32, entry: u32, shadow: u32): void;

export { MmuEvent, DropCause, FlushCause, ShadowWrite } from "../layout";

export let mmuTracing: bool = false;

export function setMmuTracing(on: bool): void { mmuTracing = on; }

export function mmuEvent(kind: u32, cause: u32, lin: u32, entry: u32, shadow: u32): void {
  hostMmuEvent(kind | (cause << 4), lin, entry, shadow);
}
