// Segment descriptors: reading them from the GDT/LDT and loading data and stack
// segment registers with the protected-mode checks and error codes.
import {
  ACTIVE, S_GDTR_BASE, S_GDTR_LIMIT, S_CPL, SEG_LDTR, SEG_SS, SEG_CS, SegRight,
} from "../layout";
import { segAddr, segBase, segLimit, setSegCache, loadSegReal, protectedMode, v86Mode } from "./state";
import { readSys, writeSys } from "./memory";
import { raise, GP, NP, SS, aborted } from "./fault";
import { SEG_RIGHTS } from "../layout";

// The descriptor last read by fetchDescriptor.
export let descLo: u32 = 0;
export let descHi: u32 = 0;
export let descAddr: u32 = 0;
// Put back a descriptor read earlier (its address too: markAccessed writes there).
export function setDescriptor(lo: u32, hi: u32, addr: u32): void { descLo = lo; descHi = hi; descAddr = addr; }

@inline export function descBase(lo: u32, hi: u32): u32 { return (lo >>> 16) | ((hi & 0xFF) << 16) | (hi & 0xFF000000); }
export function descLimit(lo: u32, hi: u32): u32 {
  const l = (lo & 0xFFFF) | (hi & 0xF0000);
  return (hi & 0x800000) ? (l << 12) | 0xFFF : l;
}
// attr: access byte in bits 0-7, flags nibble (AVL L D/B G) in bits 12-15.
@inline export function descAttr(hi: u32): u32 { return ((hi >> 8) & 0xFF) | ((hi >> 8) & 0xF000); }
@inline export function attrDpl(attr: u32): u32 { return (attr >> 5) & 3; }
@inline export function attrPresent(attr: u32): bool { return (attr & 0x80) != 0; }
@inline export function attrIsSegment(attr: u32): bool { return (attr & 0x10) != 0; } // S = code/data
@inline export function attrIsCode(attr: u32): bool { return (attr & 0x18) == 0x18; }
@inline export function attrConforming(attr: u32): bool { return (attr & 0x1C) == 0x1C; }
@inline export function attrType(attr: u32): u32 { return attr & 0x1F; } // S + type

// Read the descriptor for `sel` into descLo/descHi. False when the selector is
// past its table's limit (the caller raises the fault it needs); a page fault
// while reading sets abort.
export function fetchDescriptor(sel: u32): bool {
  let base: u32, limit: u32;
  if (sel & 4) {
    if ((load<u32>(segAddr(SEG_LDTR)) & 0xFFFC) == 0) return false; // no LDT loaded
    base = segBase(SEG_LDTR); limit = segLimit(SEG_LDTR);
  } else {
    base = load<u32>(ACTIVE + S_GDTR_BASE); limit = load<u32>(ACTIVE + S_GDTR_LIMIT);
  }
  const off = sel & 0xFFF8;
  if (off + 7 > limit) return false;
  descAddr = base + off;
  descLo = readSys(descAddr, 4);
  descHi = readSys(descAddr + 4, 4);
  return !aborted();
}

// Set the accessed bit of the descriptor just read, as the CPU does on a load.
export function markAccessed(): void {
  if (!(descHi & 0x100)) {
    descHi |= 0x100;
    writeSys(descAddr + 4, 4, descHi);
  }
}

export function loadCacheFromDescriptor(s: u32, sel: u32): void {
  setSegCache(s, sel, descBase(descLo, descHi), descLimit(descLo, descHi), descAttr(descHi));
}

// MOV/POP/LxS to a data segment register or SS, in any mode.
export function loadSegment(s: u32, sel: u32): void {
  sel &= 0xFFFF;
  if (!protectedMode() || v86Mode()) { loadSegReal(s, sel); return; }
  loadProtectedSegment(s, sel, load<u32>(ACTIVE + S_CPL), GP, 0);
}

// The protected-mode checks of a data or stack segment load at privilege `cpl`.
// A selector that does not qualify raises `invalid` (#GP for an instruction,
// #TS in a task switch); `ext` is the EXT bit of the error code.
export function loadProtectedSegment(s: u32, sel: u32, cpl: u32, invalid: u32, ext: u32): void {
  const rpl = sel & 3;
  const code = (sel & 0xFFFC) | ext;
  if ((sel & 0xFFFC) == 0) {
    if (s == SEG_SS) { raise(invalid, ext, true); return; }
    setSegCache(s, sel, 0, 0, 0); // null: loads fine, faults on use
    return;
  }
  if (!fetchDescriptor(sel)) { if (!aborted()) raise(invalid, code, true); return; }
  const attr = descAttr(descHi);
  const dpl = attrDpl(attr);
  if (s == SEG_SS) {
    // a writable data segment with RPL = DPL = CPL
    if (rpl != cpl || !attrIsSegment(attr) || (attr & 0x0A) != 0x02 || dpl != cpl) { raise(invalid, code, true); return; }
    if (!attrPresent(attr)) { raise(SS, code, true); return; }
  } else {
    // data, or readable code; privilege checked unless conforming code
    if (!attrIsSegment(attr) || (attrIsCode(attr) && (attr & 2) == 0)) { raise(invalid, code, true); return; }
    if (!attrConforming(attr) && (rpl > dpl || cpl > dpl)) { raise(invalid, code, true); return; }
    if (!attrPresent(attr)) { raise(NP, code, true); return; }
  }
  markAccessed();
  if (aborted()) return;
  loadCacheFromDescriptor(s, sel);
}

// Load CS from the descriptor just fetched, with RPL set to the new CPL.
export function loadCodeSegment(sel: u32, newCpl: u32): void {
  markAccessed();
  setSegCache(SEG_CS, (sel & 0xFFFC) | newCpl, descBase(descLo, descHi), descLimit(descLo, descHi), descAttr(descHi));
  store<u32>(ACTIVE + S_CPL, newCpl);
}

// On a return to an outer level, data segment registers the new CPL may not
// use become null.
export function nullifyForOuterLevel(): void {
  const cpl = load<u32>(ACTIVE + S_CPL);
  for (let s: u32 = 0; s < 6; s++) {
    if (s == SEG_CS || s == SEG_SS) continue;
    const a = segAddr(s);
    const attr = load<u32>(a + 12);
    const conformingCode = attrConforming(attr);
    if ((load<u32>(a + SEG_RIGHTS) & SegRight.Usable) && !conformingCode && attrDpl(attr) < cpl) {
      setSegCache(s, 0, 0, 0, 0);
    }
  }
}
