// Guest memory as the CPU sees it: linear addresses through the soft TLB (the
// shadow page table: linear page -> host address), physical RAM inside this
// instance's memory, and MMIO for everything outside RAM, which leaves to the host.
import {
  ACTIVE, RAM_BASE, TLB_READ, TLB_WRITE, TLB_LIST, TLB_LIST_MAX, PAGE_INFO, TlbBit,
  S_A20_MASK, S_CR0, S_CPL, S_EFLAGS, S_MMIO_REPLAY, EXIT_MMIO_ADDR, EXIT_MMIO_SIZE, EXIT_MMIO_DIR,
  EXIT_MMIO_DATA, ExitReason, EXIT_DETAIL_ERROR, ErrorCode, SEG_RIGHTS, SEG_LO, SEG_HI, SEG_BASE, SegRight,
} from "../layout";
import { CR0_PG, CR0_AM, AC as AC_FLAG, segAddr } from "./state";
import { raise, GP, SS, AC as AC_VECTOR, aborted, abortForMmioRead, requestExit, exitReason, endBlock } from "./fault";
import { translatePaged, onTlbFlush } from "../mmu/paging";
import { SEG_SS } from "../layout";

export let ramSize: u32 = 0;
// TLB permission bit an access of the current privilege needs.
export let tlbAccess: u32 = TlbBit.Super;
let tlbCount: u32 = 0;

export function setRamSize(bytes: u32): void { ramSize = bytes; }

// The TLB bit a word or dword data access needs for the fast path. Under
// alignment checking (CPL 3, CR0.AM, EFLAGS.AC) none: every such access takes
// the slow path, where a misaligned one raises #AC.
let dataAccess: u32 = TlbBit.Super;
let alignCheck: bool = false;

// Call whenever CPL, CR0.AM or EFLAGS.AC changes.
export function updateAccessMode(): void {
  const user = load<u32>(ACTIVE + S_CPL) == 3;
  tlbAccess = user ? TlbBit.User : TlbBit.Super;
  alignCheck = user && (load<u32>(ACTIVE + S_CR0) & CR0_AM) != 0 && (load<u32>(ACTIVE + S_EFLAGS) & AC_FLAG) != 0;
  dataAccess = alignCheck ? 0 : tlbAccess;
}

// A misaligned access under alignment checking: #AC(0), after any #PF the
// same access raises (SDM vol. 3, 6.9: page faults come first).
function alignFault(lin: u32, size: u32, write: bool): u32 {
  translate(lin, write, true);
  if ((lin & 0xFFF) + size > 0x1000) translate(lin + size - 1, write, true);
  raise(AC_VECTOR, 0, true);
  return 0;
}

// ---- soft TLB ----------------------------------------------------------------
export function tlbFill(lin: u32, phys: u32, readBits: u32, writeBits: u32): void {
  const slot = (lin >>> 12) << 2;
  if (load<u32>(TLB_READ + slot) == 0 && load<u32>(TLB_WRITE + slot) == 0) {
    if (tlbCount >= TLB_LIST_MAX) tlbFlushAll();
    store<u32>(TLB_LIST + (tlbCount << 2), lin >>> 12);
    tlbCount++;
  }
  const host = RAM_BASE + (phys & 0xFFFFF000);
  store<u32>(TLB_READ + slot, host | readBits);
  // pages holding decoded code never get a write entry: writes must trap
  const info = load<u32>(PAGE_INFO + ((phys >>> 12) << 2));
  store<u32>(TLB_WRITE + slot, (info & 0x80000000) || writeBits == 0 ? 0 : host | writeBits);
}

export function tlbFlushAll(): void {
  for (let i: u32 = 0; i < tlbCount; i++) {
    const slot = load<u32>(TLB_LIST + (i << 2)) << 2;
    store<u32>(TLB_READ + slot, 0);
    store<u32>(TLB_WRITE + slot, 0);
  }
  tlbCount = 0;
  onTlbFlush();
}

// Drop only the write entries (a page just became a code page, and any
// linear alias of it may be writable).
export function tlbFlushWrites(): void {
  for (let i: u32 = 0; i < tlbCount; i++) {
    store<u32>(TLB_WRITE + (load<u32>(TLB_LIST + (i << 2)) << 2), 0);
  }
}

export function tlbFlushPage(lin: u32): void {
  const slot = (lin >>> 12) << 2;
  store<u32>(TLB_READ + slot, 0);
  store<u32>(TLB_WRITE + slot, 0);
}

export function tlbEntries(): u32 { return tlbCount; }

// ---- translation -------------------------------------------------------------
// Linear -> guest-physical; raises #PF and returns 0 when paging says no.
// `user` is the privilege of the access (CPL 3, not a system-table access).
export function translate(lin: u32, write: bool, user: bool): u32 {
  if (load<u32>(ACTIVE + S_CR0) & CR0_PG) return translatePaged(lin, write, user);
  const phys = lin & load<u32>(ACTIVE + S_A20_MASK);
  if (phys < ramSize) tlbFill(lin, phys, TlbBit.Super | TlbBit.User, TlbBit.Super | TlbBit.User);
  return phys;
}

// ---- decoded-code tracking ---------------------------------------------------
@inline export function pageInfoAddr(phys: u32): u32 { return PAGE_INFO + ((phys >>> 12) << 2); }
export function pageGeneration(phys: u32): u32 { return load<u32>(pageInfoAddr(phys)) & 0x7FFFFFFF; }

// A block was decoded from this page: writes to it must now trap.
export function markCodePage(phys: u32): void {
  const a = pageInfoAddr(phys);
  const info = load<u32>(a);
  if (info & 0x80000000) return;
  store<u32>(a, info | 0x80000000);
  tlbFlushWrites();
}

// A write hit a code page: every block decoded from it is stale.
function invalidateCodePage(a: u32): void {
  store<u32>(a, (load<u32>(a) + 1) & 0x7FFFFFFF);
  codeInvalidations++;
  endBlock();
}
export let codeInvalidations: u32 = 0;

// The host wrote guest RAM (DMA, loader): drop decoded code in that range.
export function invalidatePhysRange(phys: u32, len: u32): void {
  if (len == 0) return;
  const end = phys + len - 1;
  for (let p = phys >>> 12; p <= (end >>> 12) && (p << 12) < ramSize; p++) {
    const a = PAGE_INFO + (p << 2);
    if (load<u32>(a) & 0x80000000) invalidateCodePage(a);
  }
}

// ---- physical access -----------------------------------------------------------
function mmioRead(phys: u32, size: u32): u32 {
  if (load<u32>(ACTIVE + S_MMIO_REPLAY) && load<u32>(EXIT_MMIO_ADDR) == phys && load<u32>(EXIT_MMIO_SIZE) == size) {
    store<u32>(ACTIVE + S_MMIO_REPLAY, 0);
    return load<u32>(EXIT_MMIO_DATA);
  }
  store<u32>(EXIT_MMIO_ADDR, phys);
  store<u32>(EXIT_MMIO_SIZE, size);
  store<u32>(EXIT_MMIO_DIR, 1);
  abortForMmioRead();
  return 0;
}

function mmioWrite(phys: u32, size: u32, v: u32): void {
  if (exitReason == ExitReason.Mmio) { // a second MMIO write in one instruction
    store<u32>(EXIT_DETAIL_ERROR, ErrorCode.MmioTwice);
    requestExit(ExitReason.Error);
    return;
  }
  store<u32>(EXIT_MMIO_ADDR, phys);
  store<u32>(EXIT_MMIO_SIZE, size);
  store<u32>(EXIT_MMIO_DIR, 0);
  store<u32>(EXIT_MMIO_DATA, v);
  requestExit(ExitReason.Mmio);
}

export function physRead(phys: u32, size: u32): u32 {
  if (phys < ramSize && phys + size <= ramSize) {
    const h = RAM_BASE + phys;
    return size == 4 ? load<u32>(h) : (size == 2 ? <u32>load<u16>(h) : <u32>load<u8>(h));
  }
  return mmioRead(phys, size);
}

export function physWrite(phys: u32, size: u32, v: u32): void {
  if (phys < ramSize && phys + size <= ramSize) {
    const a = pageInfoAddr(phys);
    if (load<u32>(a) & 0x80000000) invalidateCodePage(a);
    const h = RAM_BASE + phys;
    if (size == 4) store<u32>(h, v);
    else if (size == 2) store<u16>(h, v);
    else store<u8>(h, v);
    return;
  }
  mmioWrite(phys, size, v);
}

// ---- linear access ---------------------------------------------------------------
function readSlow(lin: u32, size: u32, user: bool): u32 {
  if (aborted()) return 0;
  if (alignCheck && user && (lin & (size - 1))) { alignFault(lin, size, false); return 0; }
  if ((lin & 0xFFF) + size > 0x1000) { // crosses a page: byte by byte
    let v: u32 = 0;
    for (let i: u32 = 0; i < size; i++) {
      const p = translate(lin + i, false, user);
      if (aborted()) return 0;
      v |= physRead(p, 1) << (i << 3);
      if (aborted()) return 0;
    }
    return v;
  }
  const p = translate(lin, false, user);
  if (aborted()) return 0;
  return physRead(p, size);
}

function writeSlow(lin: u32, size: u32, v: u32, user: bool): void {
  if (aborted()) return;
  if (alignCheck && user && (lin & (size - 1))) { alignFault(lin, size, true); return; }
  if ((lin & 0xFFF) + size > 0x1000) {
    // check both pages before writing either, so a fault leaves memory untouched
    const second = (lin + size - 1) & 0xFFFFF000;
    const p1 = translate(lin, true, user);
    const p2 = translate(second, true, user);
    if (aborted()) return;
    for (let i: u32 = 0; i < size; i++) {
      const a = lin + i;
      physWrite(((a & 0xFFFFF000) == second ? p2 : p1) | (a & 0xFFF), 1, (v >> (i << 3)) & 0xFF);
    }
    return;
  }
  const p = translate(lin, true, user);
  if (aborted()) return;
  physWrite(p, size, v);
}

@inline function userAccess(): bool { return tlbAccess == TlbBit.User; }

@inline export function read8(lin: u32): u32 {
  const e = load<u32>(TLB_READ + ((lin >>> 12) << 2));
  if (e & tlbAccess) return load<u8>((e & 0xFFFFF000) + (lin & 0xFFF));
  return readSlow(lin, 1, userAccess());
}
@inline export function read16(lin: u32): u32 {
  const e = load<u32>(TLB_READ + ((lin >>> 12) << 2));
  if ((e & dataAccess) && (lin & 0xFFF) <= 0xFFE) return load<u16>((e & 0xFFFFF000) + (lin & 0xFFF));
  return readSlow(lin, 2, userAccess());
}
@inline export function read32(lin: u32): u32 {
  const e = load<u32>(TLB_READ + ((lin >>> 12) << 2));
  if ((e & dataAccess) && (lin & 0xFFF) <= 0xFFC) return load<u32>((e & 0xFFFFF000) + (lin & 0xFFF));
  return readSlow(lin, 4, userAccess());
}
@inline export function write8(lin: u32, v: u32): void {
  const e = load<u32>(TLB_WRITE + ((lin >>> 12) << 2));
  if (e & tlbAccess) { store<u8>((e & 0xFFFFF000) + (lin & 0xFFF), v); return; }
  writeSlow(lin, 1, v, userAccess());
}
@inline export function write16(lin: u32, v: u32): void {
  const e = load<u32>(TLB_WRITE + ((lin >>> 12) << 2));
  if ((e & dataAccess) && (lin & 0xFFF) <= 0xFFE) { store<u16>((e & 0xFFFFF000) + (lin & 0xFFF), v); return; }
  writeSlow(lin, 2, v, userAccess());
}
@inline export function write32(lin: u32, v: u32): void {
  const e = load<u32>(TLB_WRITE + ((lin >>> 12) << 2));
  if ((e & dataAccess) && (lin & 0xFFF) <= 0xFFC) { store<u32>((e & 0xFFFFF000) + (lin & 0xFFF), v); return; }
  writeSlow(lin, 4, v, userAccess());
}

// Operand size sz: 0 = byte, 1 = word, 2 = dword.
@inline export function readSz(lin: u32, sz: u32): u32 {
  return sz == 2 ? read32(lin) : (sz == 1 ? read16(lin) : read8(lin));
}
@inline export function writeSz(lin: u32, sz: u32, v: u32): void {
  if (sz == 2) write32(lin, v);
  else if (sz == 1) write16(lin, v);
  else write8(lin, v);
}

// System-table accesses (GDT, IDT, TSS) are supervisor accesses at any CPL.
export function readSys(lin: u32, size: u32): u32 { return readSlowOrFast(lin, size); }
function readSlowOrFast(lin: u32, size: u32): u32 {
  const e = load<u32>(TLB_READ + ((lin >>> 12) << 2));
  if ((e & TlbBit.Super) && (lin & 0xFFF) <= 0x1000 - size) {
    const h = (e & 0xFFFFF000) + (lin & 0xFFF);
    return size == 4 ? load<u32>(h) : (size == 2 ? <u32>load<u16>(h) : <u32>load<u8>(h));
  }
  return readSlow(lin, size, false);
}
export function writeSys(lin: u32, size: u32, v: u32): void {
  const e = load<u32>(TLB_WRITE + ((lin >>> 12) << 2));
  if ((e & TlbBit.Super) && (lin & 0xFFF) <= 0x1000 - size) {
    const h = (e & 0xFFFFF000) + (lin & 0xFFF);
    if (size == 4) store<u32>(h, v); else if (size == 2) store<u16>(h, v); else store<u8>(h, v);
    return;
  }
  writeSlow(lin, size, v, false);
}

// ---- segmentation ------------------------------------------------------------------
// Linear address of seg:off for an access of `bytes` bytes; raises #GP(0)
// (#SS(0) for the stack segment) when the segment forbids it.
@inline export function segLinear(s: u32, off: u32, bytes: u32, write: bool): u32 {
  const a = segAddr(s);
  const rights = load<u32>(a + SEG_RIGHTS);
  const need: u32 = write ? SegRight.Write : SegRight.Read;
  const hi = load<u32>(a + SEG_HI);
  if ((rights & need) == 0 || off < load<u32>(a + SEG_LO) || hi < bytes - 1 || off > hi - (bytes - 1)) {
    segFault(s);
    return 0;
  }
  return load<u32>(a + SEG_BASE) + off;
}

export function segFault(s: u32): void {
  raise(s == SEG_SS ? SS : GP, 0, true);
}
