// The shadow page table: what really translates. Per linear page, TLB_READ and
// TLB_WRITE hold the host address of the guest frame | the privileges (TlbBit)
// that may use it, so a hit is one load and one compare. A miss walks the
// guest's tables (paging.ts) and fills the entry here.
//
// Each entry remembers the guest entries it was made from (SLOT_PTE, SLOT_PDE),
// and the frames holding those entries are write-protected in the shadow: a
// guest write to one traps (tableWritten) and drops exactly the entries made
// from the entry it changed. Frames holding decoded code are protected the
// same way (memory.ts). MOV CR3 keeps global entries when CR4.PGE is on.
import {
  ACTIVE, S_CR3, S_CR4, RAM_BASE, TLB_READ, TLB_WRITE, TLB_LIST, TLB_LIST_MAX, PAGE_INFO, PageInfo, TlbBit,
  SLOT_PTE, SLOT_PDE, FRAME_DIR, FRAME_DIR_MANY, TABLE_LIST, REGION_BIG, Counter,
} from "../layout";
import { bump, bumpBy } from "./counters";
import { mmuTracing, mmuEvent, MmuEvent, DropCause, FlushCause, ShadowWrite } from "./trace";
import { paePaging, loadPdptes } from "./pae";
import { breakChains } from "../cpu/chain";

// SLOT_PTE low bits (entries are 4-byte aligned, so bits 0-1 are free)
export const LISTED: u32 = 1;  // the slot is in TLB_LIST
export const GLOBAL: u32 = 2;  // from a global entry with CR4.PGE on: survives MOV CR3
// SLOT_PDE low bits
export const PAGED: u32 = 1;   // made by a walk (else by the identity map without paging)
export const BIG: u32 = 2;     // a 4 MiB page: SLOT_PTE and SLOT_PDE both name its PDE

// A TLB_WRITE entry for a frame whose writes must trap (code, page tables)
// has no S/U bit, so the fast path misses; the privileges it allows sit
// above TRAP, so the slow path writes without walking again.
export const TRAP: u32 = 4;
const TRAP_SHIFT: u32 = 3;
const PROTECTED: u32 = PageInfo.Code | PageInfo.PageTable | PageInfo.PageDir;
const CR4_PAE: u32 = 1 << 5;
const CR4_PGE: u32 = 1 << 7;

// Table geometry of the current format (a format change flushes everything):
// a page table maps 1 << tableBits linear pages, entries are 1 << entryShift bytes.
@inline function pae(): bool { return (load<u32>(ACTIVE + S_CR4) & CR4_PAE) != 0; }
@inline function tableBits(): u32 { return pae() ? 9 : 10; }
@inline function entryShift(): u32 { return pae() ? 3 : 2; }

let tlbCount: u32 = 0;    // slots in TLB_LIST
let tableCount: u32 = 0;  // frames in TABLE_LIST
// What the last MOV CR3 kept (flushNonGlobal): TLB_LIST[0, settled) are the
// global entries it kept, TABLE_LIST[0, tablesSettled) the frames they came from.
let settled: u32 = 0;
let tablesSettled: u32 = 0;
let resettle = false;
let quickFlushes: u32 = 0;
const SETTLED_FLUSHES: u32 = 64;

@inline function at(table: u32, slot: u32): u32 { return table + (slot << 2); }
@inline function live(slot: u32): bool { return load<u32>(at(TLB_READ, slot)) != 0; }

// The TLB_WRITE entry for a frame at `host` that `perms` may write.
function writeEntry(host: u32, perms: u32): u32 {
  if (perms == 0) return 0;
  const info = load<u32>(PAGE_INFO + (((host - RAM_BASE) >>> 12) << 2));
  return info & PROTECTED ? host | TRAP | (perms << TRAP_SHIFT) : host | perms;
}

// The guest-physical address a write of this privilege may go to without a
// walk (its entry traps only because the frame is protected), or NO_TRAP.
export const NO_TRAP: u32 = 0xFFFFFFFF;
export function trappedWrite(lin: u32, user: bool): u32 {
  const e = load<u32>(at(TLB_WRITE, lin >>> 12));
  const need: u32 = user ? TlbBit.User : TlbBit.Super;
  if (!(e & TRAP) || !((e >>> TRAP_SHIFT) & need)) return NO_TRAP;
  const host = e & 0xFFFFF000;
  // a frame no longer watched (a MOV CR3 unmarked it): writes go direct from now on
  if (!(load<u32>(PAGE_INFO + ((host - RAM_BASE) >>> 12 << 2)) & PROTECTED)) {
    store<u32>(at(TLB_WRITE, lin >>> 12), host | ((e >>> TRAP_SHIFT) & 3));
  }
  return host - RAM_BASE + (lin & 0xFFF);
}

// Fill the entry for `lin`. `src` is the guest-phys of the last-level entry
// | GLOBAL, `dirSrc` the PDE's | PAGED | BIG; both 0 without paging.
export function shadowFill(lin: u32, phys: u32, readBits: u32, writeBits: u32, src: u32, dirSrc: u32): void {
  bump(Counter.ShadowFills);
  const slot = lin >>> 12;
  const was = load<u32>(at(SLOT_PTE, slot));
  if (!(was & LISTED)) {
    if (tlbCount >= TLB_LIST_MAX) flushAll(FlushCause.Full);
    store<u32>(at(TLB_LIST, tlbCount), slot);
    tlbCount++;
  } else if ((was & GLOBAL) && ((was ^ src) & ~LISTED || load<u32>(at(SLOT_PDE, slot)) != dirSrc)) {
    resettle = true; // perhaps a settled entry, now made from other tables
  }
  store<u32>(at(SLOT_PTE, slot), src | LISTED);
  store<u32>(at(SLOT_PDE, slot), dirSrc);
  if (dirSrc & PAGED) markSources(slot, src, dirSrc, true);
  if (dirSrc & BIG) store<u8>(REGION_BIG + (slot >>> 10), 1);
  const host = RAM_BASE + (phys & 0xFFFFF000);
  const w = writeEntry(host, writeBits);
  if (load<u32>(at(TLB_READ, slot))) breakChains(); // a live entry replaced
  store<u32>(at(TLB_READ, slot), host | readBits);
  store<u32>(at(TLB_WRITE, slot), w);
  if (mmuTracing) {
    const entry = dirSrc & PAGED ? load<u32>(RAM_BASE + (src & ~3)) : 0;
    const how: u32 = w == 0 ? 0 : (w & TRAP ? ShadowWrite.Trapped : ShadowWrite.Direct);
    mmuEvent(MmuEvent.Fill, 0, lin, entry, host | readBits | how);
  }
}

// ---- write protection of the frames the shadow was made from -----------------
function markSources(slot: u32, src: u32, dirSrc: u32, protect: bool): void {
  if (dirSrc & BIG) { markFrame(dirSrc >>> 12, PageInfo.PageDir, protect); return; }
  const page = src >>> 12;
  markFrame(page, PageInfo.PageTable, protect);
  markFrame(dirSrc >>> 12, PageInfo.PageDir, protect);
  // which directory entries point at this page table
  const f = FRAME_DIR + (page << 1);
  const dir = (slot >>> tableBits()) + 1;
  const cur = <u32>load<u16>(f);
  if (cur != dir) store<u16>(f, cur == 0 ? dir : FRAME_DIR_MANY);
}

function markFrame(page: u32, bit: u32, protect: bool): void {
  const a = PAGE_INFO + (page << 2);
  const info = load<u32>(a);
  if (info & bit) return;
  if (!(info & (PageInfo.PageTable | PageInfo.PageDir))) {
    store<u32>(at(TABLE_LIST, tableCount), page);
    tableCount++;
  }
  store<u32>(a, info | bit);
  if (protect && !(info & PROTECTED)) protectFrame(page);
}

// From now on, writes to this frame trap: turn the direct write entries
// of every linear alias of it into trapped ones.
export function protectFrame(page: u32): void {
  const host = RAM_BASE + (page << 12);
  for (let i: u32 = 0; i < tlbCount; i++) {
    const a = at(TLB_WRITE, load<u32>(at(TLB_LIST, i)));
    const w = load<u32>(a);
    if ((w & 0xFFFFF000) == host && !(w & TRAP)) store<u32>(a, host | TRAP | ((w & 3) << TRAP_SHIFT));
  }
}

// Writes to this frame need not trap any more (its decoded code was dropped and
// it holds no page table): the trapped write entries of its aliases go direct.
export function unprotectFrame(page: u32): void {
  const host = RAM_BASE + (page << 12);
  for (let i: u32 = 0; i < tlbCount; i++) {
    const a = at(TLB_WRITE, load<u32>(at(TLB_LIST, i)));
    const w = load<u32>(a);
    if ((w & 0xFFFFF000) == host && (w & TRAP)) store<u32>(a, host | ((w >>> TRAP_SHIFT) & 3));
  }
}

// Unmark the frames TABLE_LIST holds from `from` on.
function unmarkTables(from: u32): void {
  for (let i = from; i < tableCount; i++) {
    const page = load<u32>(at(TABLE_LIST, i));
    const a = PAGE_INFO + (page << 2);
    store<u32>(a, load<u32>(a) & ~(PageInfo.PageTable | PageInfo.PageDir));
    store<u16>(FRAME_DIR + (page << 1), 0);
  }
  tableCount = from;
}

// ---- dropping entries --------------------------------------------------------------
function drop(slot: u32, cause: u32): void {
  if (mmuTracing) mmuEvent(MmuEvent.Drop, cause, slot << 12, load<u32>(at(SLOT_PTE, slot)) & ~3, load<u32>(at(TLB_READ, slot)));
  store<u32>(at(TLB_READ, slot), 0);
  store<u32>(at(TLB_WRITE, slot), 0);
  breakChains();
}

// Guest-physical [phys, phys+size) of a page-table frame changed (a trapped
// guest write, or the host wrote RAM): drop the entries made from it.
export function tableWritten(phys: u32, size: u32, info: u32): void {
  const step: u32 = 1 << entryShift();
  const last = (phys + size - 1) & ~(step - 1);
  for (let e = phys & ~(step - 1); e <= last; e += step) {
    if (info & PageInfo.PageTable) dropMadeFromPte(e);
    if (info & PageInfo.PageDir) dropMadeFromPde(e);
  }
}

// Entry e of a page table maps linear page (d << tableBits | e's index) for
// each directory index d whose PDE points at the table.
function dropMadeFromPte(e: u32): void {
  const bits = tableBits();
  const mask: u32 = (1 << bits) - 1;
  const i = (e >>> entryShift()) & mask;
  const dir = <u32>load<u16>(FRAME_DIR + ((e >>> 12) << 1));
  if (dir != FRAME_DIR_MANY) { dropIfMadeFrom(((dir - 1) << bits) | i, e, SLOT_PTE); return; }
  for (let k: u32 = 0; k < tlbCount; k++) {
    const slot = load<u32>(at(TLB_LIST, k));
    if ((slot & mask) == i) dropIfMadeFrom(slot, e, SLOT_PTE);
  }
}

// Entry e of a 32-bit page directory maps the 4 MiB region of its index. A PAE
// directory's region also depends on which PDPTE points at it: look at every entry.
function dropMadeFromPde(e: u32): void {
  if (pae()) {
    for (let k: u32 = 0; k < tlbCount; k++) dropIfMadeFrom(load<u32>(at(TLB_LIST, k)), e, SLOT_PDE);
    return;
  }
  const first = ((e >>> 2) & 0x3FF) << 10;
  for (let slot = first; slot < first + 1024; slot++) dropIfMadeFrom(slot, e, SLOT_PDE);
}

@inline function dropIfMadeFrom(slot: u32, e: u32, sources: u32): void {
  if (live(slot) && (load<u32>(at(sources, slot)) & ~3) == e && (load<u32>(at(SLOT_PDE, slot)) & PAGED)) {
    drop(slot, DropCause.PtWrite);
    bump(Counter.PtWriteDrops);
  }
}

// INVLPG: the page's entry; for a big page (4 MiB, PAE 2 MiB), every entry made from it.
export function invalidatePage(lin: u32): void {
  bump(Counter.FlushInvlpg);
  const slot = lin >>> 12;
  if (live(slot)) drop(slot, DropCause.Invlpg);
  const region = slot >>> 10;
  if (!load<u8>(REGION_BIG + region)) return;
  const bits = tableBits();
  for (let s = region << 10; s < (region + 1) << 10; s++) {
    if ((s >>> bits) == (slot >>> bits) && live(s) && (load<u32>(at(SLOT_PDE, s)) & BIG)) drop(s, DropCause.Invlpg);
  }
}

// ---- flushes -----------------------------------------------------------------------
// Drop every entry, global ones too (counted as a full flush).
export function flushAll(cause: u32): void {
  breakChains();
  const dropped = tlbCount;
  for (let i: u32 = 0; i < tlbCount; i++) {
    const slot = load<u32>(at(TLB_LIST, i));
    store<u32>(at(TLB_READ, slot), 0);
    store<u32>(at(TLB_WRITE, slot), 0);
    store<u32>(at(SLOT_PTE, slot), 0);
    store<u8>(REGION_BIG + (slot >>> 10), 0);
  }
  tlbCount = 0;
  unmarkTables(0);
  settled = 0;
  tablesSettled = 0;
  bump(Counter.FlushFull);
  if (mmuTracing) mmuEvent(MmuEvent.Flush, cause, 0, dropped, 0);
}

// Drop every entry but the global ones, and protect only the frames the
// kept entries came from. A kernel switching address spaces keeps the same
// ~1000 global entries from one MOV CR3 to the next, so a reload normally
// walks only the entries filled since the last one and unmarks only the frames
// marked since. Then frames a dropped global entry came from stay protected
// (a write there traps for nothing), and a write entry still trapping for a
// frame unmarked here goes direct at its next write (trappedWrite), until an
// exact reload: when one of the kept entries was replaced since (`resettle`:
// the quick walk would not see it), and every SETTLED_FLUSHES reloads.
function flushNonGlobal(): void {
  breakChains();
  const exact = resettle || quickFlushes >= SETTLED_FLUSHES;
  const from: u32 = exact ? 0 : settled;
  let kept = from;
  for (let i = from; i < tlbCount; i++) {
    const slot = load<u32>(at(TLB_LIST, i));
    if (exact) store<u8>(REGION_BIG + (slot >>> 10), 0);
    if ((load<u32>(at(SLOT_PTE, slot)) & GLOBAL) && live(slot)) {
      store<u32>(at(TLB_LIST, kept), slot);
      kept++;
    } else {
      store<u32>(at(TLB_READ, slot), 0);
      store<u32>(at(TLB_WRITE, slot), 0);
      store<u32>(at(SLOT_PTE, slot), 0);
    }
  }
  const dropped = tlbCount - kept;
  tlbCount = kept;
  unmarkTables(exact ? <u32>0 : tablesSettled);
  for (let i = from; i < kept; i++) {
    const slot = load<u32>(at(TLB_LIST, i));
    const dirSrc = load<u32>(at(SLOT_PDE, slot));
    markSources(slot, load<u32>(at(SLOT_PTE, slot)), dirSrc, false);
    if (dirSrc & BIG) store<u8>(REGION_BIG + (slot >>> 10), 1);
  }
  if (exact) {
    // each kept write entry traps exactly when its frame is protected now
    for (let i: u32 = 0; i < kept; i++) {
      const a = at(TLB_WRITE, load<u32>(at(TLB_LIST, i)));
      const w = load<u32>(a);
      if (w) store<u32>(a, writeEntry(w & 0xFFFFF000, w & TRAP ? (w >>> TRAP_SHIFT) & 3 : w & 3));
    }
    resettle = false;
    quickFlushes = 0;
  } else {
    quickFlushes++;
  }
  settled = kept;
  tablesSettled = tableCount;
  bumpBy(Counter.GlobalsKept, kept);
  if (mmuTracing) mmuEvent(MmuEvent.Flush, FlushCause.Cr3, 0, dropped, kept);
}

// CR3 changed: every entry but the global ones (when CR4.PGE is on).
function cr3Loaded(): void {
  bump(Counter.FlushCr3);
  if (load<u32>(ACTIVE + S_CR4) & CR4_PGE) flushNonGlobal();
  else flushAll(FlushCause.Cr3);
}

// MOV CR3 (or a task switch): with PAE paging, the PDPTEs first (false, with
// #GP raised and CR3 unchanged, when they are invalid); then the flush.
export function writeCr3(v: u32): bool {
  if (paePaging() && !loadPdptes(v)) return false;
  store<u32>(ACTIVE + S_CR3, v);
  cr3Loaded();
  return true;
}

// CR0.PG/WP or CR4.PSE/PAE/PGE changed: how every page translates may differ.
export function pagingModeChanged(): void {
  bump(Counter.FlushCr0Cr4);
  flushAll(FlushCause.Control);
}

// The host's flush (vCPU switch, state restore, memory map change).
export function tlbFlushAll(): void { flushAll(FlushCause.Full); }
