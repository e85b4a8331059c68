// Guest memory as the CPU sees it: linear addresses through the soft TLB (the
// shadow page table, mmu/shadow.ts: linear page -> host address), physical RAM
// inside this instance's memory, and MMIO for everything outside RAM, which
// leaves to the host.
import {
  ACTIVE, RAM_BASE, TLB_READ, TLB_WRITE, PAGE_INFO, PageInfo, TlbBit, Counter,
  S_A20_MASK, S_CR0, S_CPL, S_EFLAGS, EXIT_MMIO_ADDR, EXIT_MMIO_SIZE, EXIT_MMIO_DIR,
  EXIT_MMIO_DATA, ExitReason, EXIT_DETAIL_ERROR, ErrorCode, SEG_RIGHTS, SEG_LO, SEG_HI, SEG_BASE, SegRight,
} from "../layout";
import { CR0_PG, CR0_AM, AC as AC_FLAG, segAddr } from "./state";
import { raise, GP, SS, AC as AC_VECTOR, aborted, abortForMmioRead, requestExit, exitReason, endBlock } from "./fault";
import { translatePaged } from "../mmu/paging";
import { breakChains } from "./chain";
import { mmioReplayed, replayValue, mmioLogHasRoom } from "./mmio-replay";
import { mmioQueueWrite } from "./mmio-writes";
import { shadowFill, tlbFlushAll, protectFrame, unprotectFrame, tableWritten, trappedWrite, NO_TRAP } from "../mmu/shadow";
import { bump } from "../mmu/counters";
import { mmuTracing, mmuEvent, MmuEvent } from "../mmu/trace";
import { SEG_SS } from "../layout";

export { tlbFlushAll };

export let ramSize: u32 = 0;
// TLB permission bit an access of the current privilege needs.
export let tlbAccess: u32 = TlbBit.Super;

export function setRamSize(bytes: u32): void { ramSize = bytes; }

// ---- ROM window ----------------------------------------------------------------
// A read-only range of guest-physical space above RAM whose bytes live in RAM
// (firmware at the top of 4 GiB is the same ROM the host copied below 1 MiB):
// reads and code fetches see the RAM copy, writes leave as ignored MMIO.
let romStart: u32 = 0;
let romSize: u32 = 0;
let romBacking: u32 = 0;

export function setRomWindow(start: u32, size: u32, backing: u32): void {
  romStart = start; romSize = size; romBacking = backing;
  tlbFlushAll();
}

// The RAM address behind a ROM-window address; any other address unchanged.
@inline export function romAlias(phys: u32): u32 {
  return phys - romStart < romSize ? phys - romStart + romBacking : phys;
}

// The TLB bit a word or dword data access needs for the fast path. Under
// alignment checking (CPL 3, CR0.AM, EFLAGS.AC) none: every such access takes
// the slow path, where a misaligned one raises #AC.
export let dataAccess: u32 = TlbBit.Super;
let alignCheck: bool = false;

// Call whenever CPL, CR0.AM or EFLAGS.AC changes.
export function updateAccessMode(): void {
  const user = load<u32>(ACTIVE + S_CPL) == 3;
  const access = user ? TlbBit.User : TlbBit.Super;
  if (access != tlbAccess) breakChains(); // code fetches are checked for the other privilege
  tlbAccess = access;
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

// ---- translation -------------------------------------------------------------
// Linear -> guest-physical; raises #PF and returns 0 when paging says no.
// `user` is the privilege of the access (CPL 3, not a system-table access).
export function translate(lin: u32, write: bool, user: bool): u32 {
  if (load<u32>(ACTIVE + S_CR0) & CR0_PG) return translatePaged(lin, write, user);
  let phys = lin & load<u32>(ACTIVE + S_A20_MASK);
  if (phys < ramSize) shadowFill(lin, phys, TlbBit.Super | TlbBit.User, TlbBit.Super | TlbBit.User, 0, 0);
  else if (!write && romAlias(phys) != phys) {
    phys = romAlias(phys);
    shadowFill(lin, phys, TlbBit.Super | TlbBit.User, 0, 0, 0);
  }
  return phys;
}

// ---- decoded-code tracking ---------------------------------------------------
@inline export function pageInfoAddr(phys: u32): u32 { return PAGE_INFO + ((phys >>> 12) << 2); }
export function pageGeneration(phys: u32): u32 { return load<u32>(pageInfoAddr(phys)) & PageInfo.Generation; }

// A block was decoded from this page: writes to it must now trap.
export function markCodePage(phys: u32): void {
  const a = pageInfoAddr(phys);
  const info = load<u32>(a);
  if (info & PageInfo.Code) return;
  store<u32>(a, info | PageInfo.Code);
  if (!(info & (PageInfo.PageTable | PageInfo.PageDir))) protectFrame(phys >>> 12);
}

// A write hit a code page: every block decoded from it is stale. Until a
// block is decoded from it again (markCodePage), it is plain data: its writes
// stop trapping, so a burst of them (a freed page cleared, data beside code)
// costs one invalidation, not one each.
function invalidateCodePage(a: u32): void {
  breakChains();
  const info = load<u32>(a);
  store<u32>(a, (info & ~(PageInfo.Generation | PageInfo.Code)) | ((info + 1) & PageInfo.Generation));
  if (!(info & (PageInfo.PageTable | PageInfo.PageDir))) unprotectFrame((a - PAGE_INFO) >>> 2);
  bump(Counter.CodeInvalidations);
  if (mmuTracing) mmuEvent(MmuEvent.CodeWrite, 0, ((a - PAGE_INFO) >>> 2) << 12, 0, 0);
  endBlock();
}

// RAM at phys was written behind the shadow's back (the walker's A/D bits).
export function codeWritten(phys: u32): void {
  const a = pageInfoAddr(phys);
  if (load<u32>(a) & PageInfo.Code) invalidateCodePage(a);
}

// The host wrote guest RAM (DMA, loader, snapshot restore): drop decoded code
// there, and the shadow entries made from page tables there (all of them when
// a bulk write covers a table: cheaper than entry by entry).
export function invalidatePhysRange(phys: u32, len: u32): void {
  if (len == 0) return;
  const end = phys + len - 1;
  let tables = false;
  for (let p = phys >>> 12; p <= (end >>> 12) && (p << 12) < ramSize; p++) {
    const a = PAGE_INFO + (p << 2);
    const info = load<u32>(a);
    if (info & PageInfo.Code) invalidateCodePage(a);
    if (info & (PageInfo.PageTable | PageInfo.PageDir)) {
      if (len > 8) { tables = true; continue; }
      const from = p << 12 > phys ? p << 12 : phys;
      const to = (p << 12) + 0xFFF < end ? (p << 12) + 0xFFF : end;
      tableWritten(from, to - from + 1, info);
    }
  }
  if (tables) tlbFlushAll();
}

// ---- physical access -----------------------------------------------------------
function mmioRead(phys: u32, size: u32): u32 {
  if (mmioReplayed(phys, size)) return replayValue;
  if (!mmioLogHasRoom()) {
    store<u32>(EXIT_DETAIL_ERROR, ErrorCode.MmioReads);
    requestExit(ExitReason.Error);
  }
  store<u32>(EXIT_MMIO_ADDR, phys);
  store<u32>(EXIT_MMIO_SIZE, size);
  store<u32>(EXIT_MMIO_DIR, 1);
  abortForMmioRead();
  return 0;
}

function mmioWrite(phys: u32, size: u32, v: u32): void {
  if (exitReason == ExitReason.Mmio) { // the instruction's first write is in the exit record
    if (!mmioQueueWrite(phys, size, v)) {
      store<u32>(EXIT_DETAIL_ERROR, ErrorCode.MmioWrites);
      requestExit(ExitReason.Error);
    }
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
    const info = load<u32>(a);
    if (info & PageInfo.Code) invalidateCodePage(a);
    if (info & (PageInfo.PageTable | PageInfo.PageDir)) { // the guest wrote its own page tables
      bump(Counter.PtWriteTraps);
      tableWritten(phys, size, info);
    }
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
    const p1 = writeTarget(lin, user);
    const p2 = writeTarget(second, user);
    if (aborted()) return;
    for (let i: u32 = 0; i < size; i++) {
      const a = lin + i;
      // p1 carries lin's page offset: only its frame is combined with a's offset
      physWrite(((a & 0xFFFFF000) == second ? p2 : p1 & 0xFFFFF000) | (a & 0xFFF), 1, (v >> (i << 3)) & 0xFF);
    }
    return;
  }
  const p = writeTarget(lin, user);
  if (aborted()) return;
  physWrite(p, size, v);
}

// Where a write goes: a trapped entry already knows; otherwise walk.
@inline function writeTarget(lin: u32, user: bool): u32 {
  const p = trappedWrite(lin, user);
  return p != NO_TRAP ? p : translate(lin, true, user);
}

@inline function userAccess(): bool { return tlbAccess == TlbBit.User; }

// Raise the #PF a write of `size` bytes at `lin` would raise, writing nothing
// (for instructions that must check a whole frame before storing any of it).
export function probeWrite(lin: u32, size: u32): void {
  if (aborted()) return;
  const user = userAccess();
  const last = lin + size - 1;
  if (!(load<u32>(TLB_WRITE + ((lin >>> 12) << 2)) & tlbAccess)) writeTarget(lin, user);
  if (aborted()) return;
  if ((last ^ lin) & 0xFFFFF000 && !(load<u32>(TLB_WRITE + ((last >>> 12) << 2)) & tlbAccess)) writeTarget(last, user);
}

// probeWrite with the TLB hit inline (a read-modify-write checks its write first).
@inline export function checkWrite(lin: u32, size: u32): void {
  const e = load<u32>(TLB_WRITE + ((lin >>> 12) << 2));
  if (!(e & tlbAccess) || (lin & 0xFFF) > 0x1000 - size) probeWrite(lin, size);
}

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
  // a flat segment: only an access that wraps past 4 GiB is outside it
  if ((rights & (need | SegRight.Flat)) == (need | SegRight.Flat) && off <= ~(bytes - 1)) return off;
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
