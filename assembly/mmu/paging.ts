// The guest's page tables, walked on a shadow miss as the CPU walks them:
// 32-bit tables here (4 KiB pages, 4 MiB pages with CR4.PSE), PAE tables in
// pae.ts; for both, global pages (CR4.PGE), U/S and R/W combined over the
// levels, CR0.WP, accessed and dirty bits, and #PF with CR2 and the error
// code. The result fills the shadow entry (shadow.ts).
import { ACTIVE, S_CR3, S_CR4, S_CR0, S_CR2, S_A20_MASK, RAM_BASE, TlbBit, Counter } from "../layout";
import { CR0_WP } from "../cpu/state";
import { raise, PF, aborted } from "../cpu/fault";
import { ramSize, romAlias, codeWritten } from "../cpu/memory";
import { shadowFill, GLOBAL, PAGED, BIG } from "./shadow";
import { bump } from "./counters";
import { mmuTracing, mmuEvent, MmuEvent } from "./trace";
import { translatePae } from "./pae";

export const P: u32 = 1;
const RW: u32 = 2;
const US: u32 = 4;
const ACCESSED: u32 = 0x20;
const DIRTY: u32 = 0x40;
export const PS: u32 = 0x80;
const G: u32 = 0x100;
// Bits 21:13 of a 4 MiB PDE: without PSE-36 (MAXPHYADDR 32) they are reserved.
const PSE_RESERVED: u32 = 0x003FE000;
const CR4_PSE: u32 = 1 << 4;
const CR4_PAE: u32 = 1 << 5;
const CR4_PGE: u32 = 1 << 7;

// #PF error code bits
export const PF_PRESENT: u32 = 1;
const PF_WRITE: u32 = 2;
const PF_USER: u32 = 4;
export const PF_RESERVED: u32 = 8;

// Page tables outside RAM read as not present.
export function readEntry(phys: u32): u32 {
  return phys <= ramSize - 4 ? load<u32>(RAM_BASE + phys) : 0;
}
// The walker's own A/D updates: no trap, but decoded code there is stale.
function writeEntry(phys: u32, v: u32): void {
  store<u32>(RAM_BASE + phys, v);
  codeWritten(phys);
}

export function pageFault(lin: u32, code: u32, entry: u32): u32 {
  if (aborted()) return 0; // an earlier fault of this instruction wins
  store<u32>(ACTIVE + S_CR2, lin);
  bump(Counter.GuestPageFaults);
  if (mmuTracing) mmuEvent(MmuEvent.Fault, 0, lin, entry, code);
  raise(PF, code, true);
  return 0;
}

@inline export function accessCode(write: bool, user: bool): u32 {
  return (write ? PF_WRITE : 0) | (user ? PF_USER : 0);
}

// Linear -> guest-physical for an access of this kind; raises #PF and
// returns 0 when the guest's tables say no.
export function translatePaged(lin: u32, write: bool, user: bool): u32 {
  bump(Counter.GuestWalks);
  const cr4 = load<u32>(ACTIVE + S_CR4);
  if (cr4 & CR4_PAE) return translatePae(lin, write, user, cr4);
  const access = accessCode(write, user);
  const pdeAddr = (load<u32>(ACTIVE + S_CR3) & 0xFFFFF000) | ((lin >>> 22) << 2);
  const pde = readEntry(pdeAddr);
  if (!(pde & P)) return pageFault(lin, access, pde);
  if ((pde & PS) && (cr4 & CR4_PSE)) {
    if (pde & PSE_RESERVED) return pageFault(lin, access | PF_PRESENT | PF_RESERVED, pde);
    return completeWalk(lin, write, user, cr4, pdeAddr, pde, true, pdeAddr, pde, (pde & 0xFFC00000) | (lin & 0x3FF000));
  }
  const pteAddr = (pde & 0xFFFFF000) | (((lin >>> 12) & 0x3FF) << 2);
  const pte = readEntry(pteAddr);
  if (!(pte & P)) return pageFault(lin, access, pte);
  return completeWalk(lin, write, user, cr4, pdeAddr, pde, false, pteAddr, pte, pte & 0xFFFFF000);
}

// The end of every walk, whatever the table format: U/S and R/W (combined over
// the PDE and the last entry; a big page's last entry is its PDE), accessed
// and dirty bits, and the shadow fill. `page` is the guest-physical frame.
export function completeWalk(
  lin: u32, write: bool, user: bool, cr4: u32, pdeAddr: u32, pde: u32, big: bool, lastAddr: u32, last: u32, page: u32,
): u32 {
  const wp = (load<u32>(ACTIVE + S_CR0) & CR0_WP) != 0;
  const rights = big ? pde : pde & last;
  const userOk = (rights & US) != 0;
  const writable = (rights & RW) != 0;
  if ((user && !userOk) || (write && !writable && (user || wp))) {
    return pageFault(lin, accessCode(write, user) | PF_PRESENT, last);
  }
  // accessed in every entry used; dirty only in the last one, only on a write
  if (!(pde & ACCESSED)) { pde |= ACCESSED; writeEntry(pdeAddr, pde); }
  if (big) last = pde;
  const updated = last | ACCESSED | (write ? DIRTY : 0);
  if (updated != last) { last = updated; writeEntry(lastAddr, last); }

  let phys = page & load<u32>(ACTIVE + S_A20_MASK);
  const src = lastAddr | ((last & G) && (cr4 & CR4_PGE) ? GLOBAL : 0);
  const dirSrc = pdeAddr | PAGED | (big ? BIG : 0);
  const readBits = TlbBit.Super | (userOk ? TlbBit.User : 0);
  if (phys < ramSize) {
    // no write entry until the page is dirty, so the first write walks and sets D
    let writeBits: u32 = 0;
    if (last & DIRTY) {
      if (writable || !wp) writeBits |= TlbBit.Super;
      if (writable && userOk) writeBits |= TlbBit.User;
    }
    shadowFill(lin, phys, readBits, writeBits, src, dirSrc);
  } else if (!write && romAlias(phys) != phys) {
    phys = romAlias(phys);
    shadowFill(lin, phys, readBits, 0, src, dirSrc);
  }
  return phys | (lin & 0xFFF);
}
