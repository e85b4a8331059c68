// The guest's 32-bit page tables, walked on a soft-TLB miss. The result fills
// the shadow (TLB) entry for the linear page.
import { ACTIVE, S_CR3, S_CR4, S_CR0, S_CR2, S_A20_MASK, RAM_BASE, TlbBit } from "../layout";
import { CR0_WP } from "../cpu/state";
import { raise, PF, aborted } from "../cpu/fault";
import { ramSize, tlbFill } from "../cpu/memory";

const P: u32 = 1;
const RW: u32 = 2;
const US: u32 = 4;
const ACCESSED: u32 = 0x20;
const DIRTY: u32 = 0x40;
const PS: u32 = 0x80;
const CR4_PSE: u32 = 1 << 4;

export let walks: u32 = 0;
export let faults: u32 = 0;
export let flushes: u32 = 0;

export function onTlbFlush(): void { flushes++; }

function readEntry(phys: u32): u32 {
  if (phys + 4 > ramSize) return 0; // page tables outside RAM read as not present
  return load<u32>(RAM_BASE + phys);
}
function writeEntry(phys: u32, v: u32): void {
  if (phys + 4 <= ramSize) store<u32>(RAM_BASE + phys, v);
}

function pageFault(lin: u32, present: bool, write: bool, user: bool): u32 {
  if (aborted()) return 0; // an earlier fault of this instruction wins
  store<u32>(ACTIVE + S_CR2, lin);
  faults++;
  raise(PF, (present ? 1 : 0) | (write ? 2 : 0) | (user ? 4 : 0), true);
  return 0;
}

export function translatePaged(lin: u32, write: bool, user: bool): u32 {
  walks++;
  const cr3 = load<u32>(ACTIVE + S_CR3);
  const wp = (load<u32>(ACTIVE + S_CR0) & CR0_WP) != 0;
  const pdeAddr = (cr3 & 0xFFFFF000) | ((lin >>> 22) << 2);
  let pde = readEntry(pdeAddr);
  if (!(pde & P)) return pageFault(lin, false, write, user);
  let flags: u32;
  let phys: u32;
  let pteAddr: u32 = 0;
  let pte: u32 = 0;
  const big = (pde & PS) != 0 && (load<u32>(ACTIVE + S_CR4) & CR4_PSE) != 0;
  if (big) {
    flags = pde;
    phys = (pde & 0xFFC00000) | (lin & 0x3FF000);
  } else {
    pteAddr = (pde & 0xFFFFF000) | (((lin >>> 12) & 0x3FF) << 2);
    pte = readEntry(pteAddr);
    if (!(pte & P)) return pageFault(lin, false, write, user);
    flags = pde & pte; // U/S and R/W must allow at both levels
    phys = pte & 0xFFFFF000;
  }
  const userOk = (flags & US) != 0;
  const writableAll = (flags & RW) != 0;
  if (user && !userOk) return pageFault(lin, true, write, user);
  if (write && !writableAll && (user || wp)) return pageFault(lin, true, write, user);
  // accessed on every walk, dirty in the last-level entry on a write
  if (!(pde & ACCESSED)) { pde |= ACCESSED; writeEntry(pdeAddr, pde); }
  let dirty: bool;
  if (big) {
    if (write && !(pde & DIRTY)) { pde |= DIRTY; writeEntry(pdeAddr, pde); }
    dirty = (pde & DIRTY) != 0;
  } else {
    let npte = pte | ACCESSED;
    if (write) npte |= DIRTY;
    if (npte != pte) writeEntry(pteAddr, npte);
    dirty = (npte & DIRTY) != 0;
  }
  phys &= load<u32>(ACTIVE + S_A20_MASK);
  if (phys < ramSize) {
    const readBits = TlbBit.Super | (userOk ? TlbBit.User : 0);
    // no write entry until the page is dirty, so the first write walks and sets D
    let writeBits: u32 = 0;
    if (dirty) {
      if (writableAll || !wp) writeBits |= TlbBit.Super;
      if (writableAll && userOk) writeBits |= TlbBit.User;
    }
    tlbFill(lin, phys, readBits, writeBits);
  }
  return phys | (lin & 0xFFF);
}
