// Hardware task switching (Intel SDM vol. 3, 7.3): JMP/CALL to a TSS or a task
// gate, interrupts and exceptions through task gates, and IRET with NT set.
// Up to the commit point a fault leaves the old task untouched; after it, the
// new task's state is in place and faults are raised in its context.
import {
  ACTIVE, S_CPL, S_CR0, S_DR, S_GDTR_BASE, SEG_CS, SEG_SS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR,
} from "../layout";
import {
  eip, setEip, reg32, setReg32, segSelector, segBase, segLimit, segAttr, setSegCache, loadSegReal,
  CR0_PG, CR0_TS, NT, VM, RF,
} from "./state";
import { getFlags, setFlagsRaw } from "./flags";
import { readSys, writeSys, updateAccessMode } from "./memory";
import { writeCr3 } from "../mmu/shadow";
import { raise, aborted, endBlock, GP, NP, TS, DB } from "./fault";
import { interrupt, Source } from "./interrupt";
import {
  fetchDescriptor, descLo, descHi, descAddr, descAttr, attrDpl, attrPresent, attrIsSegment, attrIsCode,
  attrConforming, descBase, descLimit, loadProtectedSegment, markAccessed,
} from "./descriptor";
import { push } from "./operand";
import { setInsnStart } from "./context";
import {
  tssIs32, tssMinLimit, T32_CR3, T32_EIP, T32_EFLAGS, T32_GPR, T32_SEG, T32_LDT, T32_TRAP,
  T16_IP, T16_FLAGS, T16_GPR, T16_SEG, T16_LDT,
} from "./tss";

// What started the switch: it decides the busy bits, NT and the back link.
export const enum TaskSource { Jmp = 0, Call = 1, Iret = 2, Int = 3 }

const BUSY: u32 = 0x200; // type bit 1 of a TSS descriptor, in its high dword

// Types: 1/9 available TSS, 3/B busy TSS, 5 task gate.
@inline function isTss(attr: u32): bool { return (attr & 0x15) == 0x01; }
@inline function isBusy(attr: u32): bool { return (attr & 2) != 0; }

// The new task's state, read from its TSS before anything changes.
const SEGS: usize = memory.data(6 * 4);
const GPRS: usize = memory.data(8 * 4);
@inline function segSel(s: u32): u32 { return load<u32>(SEGS + (s << 2)); }
@inline function setSegSel(s: u32, v: u32): void { store<u32>(SEGS + (s << 2), v); }
@inline function gpr(r: u32): u32 { return load<u32>(GPRS + (r << 2)); }
@inline function setGpr(r: u32, v: u32): void { store<u32>(GPRS + (r << 2), v); }

// JMP/CALL far whose selector names a TSS or a task gate (its descriptor is in
// descLo/descHi). `next` is the EIP the old task resumes at.
export function jmpCallTask(sel: u32, call: bool, next: u32): void {
  const attr = descAttr(descHi);
  const cpl = load<u32>(ACTIVE + S_CPL);
  const dpl = attrDpl(attr);
  if (dpl < cpl || dpl < (sel & 3)) { raise(GP, sel & 0xFFFC, true); return; }
  let tssSel = sel;
  if ((attr & 0x1F) == 0x05) { // task gate: it names the TSS
    if (!attrPresent(attr)) { raise(NP, sel & 0xFFFC, true); return; }
    tssSel = descLo >>> 16;
    if (!fetchGdtTss(tssSel, GP, 0)) return;
  } else if (!isTss(attr) || (sel & 4)) { // a TSS descriptor lives in the GDT only
    raise(GP, sel & 0xFFFC, true); return;
  }
  const tssAttr = descAttr(descHi);
  if (isBusy(tssAttr)) { raise(GP, tssSel & 0xFFFC, true); return; }
  if (!attrPresent(tssAttr)) { raise(NP, tssSel & 0xFFFC, true); return; }
  switchTask(tssSel, call ? TaskSource.Call : TaskSource.Jmp, next, 0);
  checkEip();
  debugTrap();
}

// An interrupt or exception through a task gate whose TSS selector is `tssSel`.
// The error code, if any, goes on the new task's stack.
export function interruptTask(tssSel: u32, ext: u32, hasCode: bool, code: u32, returnEip: u32): void {
  if (!fetchGdtTss(tssSel, GP, ext)) return;
  const attr = descAttr(descHi);
  if (isBusy(attr)) { raise(GP, (tssSel & 0xFFFC) | ext, true); return; }
  if (!attrPresent(attr)) { raise(NP, (tssSel & 0xFFFC) | ext, true); return; }
  switchTask(tssSel, TaskSource.Int, returnEip, ext);
  if (aborted()) return;
  if (hasCode) push(tssIs32(attr) ? 2 : 1, code);
  checkEip();
  debugTrap();
}

// IRET with NT set: return to the task named by the back link of this TSS.
export function iretTask(): void {
  const link = readSys(segBase(SEG_TR), 2);
  if (aborted()) return;
  if (link & 4) { raise(TS, link & 0xFFFC, true); return; }
  if (!fetchGdtTss(link, TS, 0)) return;
  const attr = descAttr(descHi);
  if (!isBusy(attr)) { raise(TS, link & 0xFFFC, true); return; }
  if (!attrPresent(attr)) { raise(NP, link & 0xFFFC, true); return; }
  switchTask(link, TaskSource.Iret, eip(), 0);
  checkEip();
  debugTrap();
}

// Fetch a TSS descriptor from the GDT; anything else raises `invalid`(sel).
function fetchGdtTss(sel: u32, invalid: u32, ext: u32): bool {
  const code = (sel & 0xFFFC) | ext;
  if ((sel & 4) || (sel & 0xFFFC) == 0) { raise(invalid, code, true); return false; }
  if (!fetchDescriptor(sel)) { if (!aborted()) raise(invalid, code, true); return false; }
  if (!isTss(descAttr(descHi))) { raise(invalid, code, true); return false; }
  return true;
}

// After the switch, EIP must lie inside the new code segment.
function checkEip(): void {
  if (!aborted() && eip() > segLimit(SEG_CS)) raise(GP, 0, true);
}

// The T flag of the new (32-bit) TSS: a debug trap before its first
// instruction, with DR6.BT saying why. Delivering it may switch tasks again
// (a task gate for #DB): a guest chaining T-flag tasks gets one trap in
// flight, so the host's stack never grows with what the guest built.
let trapping: bool = false;
function debugTrap(): void {
  if (aborted() || !tssIs32(segAttr(SEG_TR)) || !(readSys(segBase(SEG_TR) + T32_TRAP, 2) & 1) || aborted()) return;
  store<u32>(ACTIVE + S_DR + 24, load<u32>(ACTIVE + S_DR + 24) | 0x8000);
  if (trapping) return;
  trapping = true;
  interrupt(DB, Source.Exception, eip());
  trapping = false;
}

// Flip the busy bit of the TSS descriptor for `sel` in the GDT.
function setBusy(sel: u32, on: bool): void {
  const a = load<u32>(ACTIVE + S_GDTR_BASE) + (sel & 0xFFF8) + 4;
  const hi = readSys(a, 4);
  writeSys(a, 4, on ? hi | BUSY : hi & ~BUSY);
}

// The switch itself, to the TSS whose descriptor is in descLo/descHi/descAddr.
function switchTask(sel: u32, source: TaskSource, returnEip: u32, ext: u32): void {
  const lo = descLo, hi = descHi, at = descAddr;
  const attr = descAttr(hi);
  const is32 = tssIs32(attr);
  const base = descBase(lo, hi), limit = descLimit(lo, hi);
  if (limit < tssMinLimit(is32)) { raise(TS, (sel & 0xFFFC) | ext, true); return; }
  const oldSel = segSelector(SEG_TR), oldBase = segBase(SEG_TR);
  const old32 = tssIs32(segAttr(SEG_TR));
  // the old TSS must hold the dynamic fields it is about to receive
  if (segLimit(SEG_TR) < (old32 ? 0x5F : 0x29)) { raise(TS, (oldSel & 0xFFFC) | ext, true); return; }

  // read the whole new state first: a page fault here changes nothing
  let newEip: u32, newFlags: u32, ldt: u32, cr3: u32 = 0;
  if (is32) {
    newEip = readSys(base + T32_EIP, 4);
    newFlags = readSys(base + T32_EFLAGS, 4);
    for (let r: u32 = 0; r < 8; r++) setGpr(r, readSys(base + T32_GPR + (r << 2), 4));
    for (let s: u32 = 0; s < 6; s++) setSegSel(s, readSys(base + T32_SEG + (s << 2), 2));
    ldt = readSys(base + T32_LDT, 2);
    cr3 = readSys(base + T32_CR3, 4);
  } else {
    // a 16-bit TSS: the upper halves of the registers read as ones, FS/GS null
    newEip = readSys(base + T16_IP, 2);
    newFlags = readSys(base + T16_FLAGS, 2);
    for (let r: u32 = 0; r < 8; r++) setGpr(r, 0xFFFF0000 | readSys(base + T16_GPR + (r << 1), 2));
    for (let s: u32 = 0; s < 4; s++) setSegSel(s, readSys(base + T16_SEG + (s << 1), 2));
    setSegSel(SEG_FS, 0); setSegSel(SEG_GS, 0);
    ldt = readSys(base + T16_LDT, 2);
  }
  if (aborted()) return;

  // save the old task (IRET leaves NT clear in its saved flags)
  let oldFlags = getFlags();
  if (source == TaskSource.Iret) oldFlags &= ~NT;
  if (old32) {
    writeSys(oldBase + T32_EIP, 4, returnEip);
    writeSys(oldBase + T32_EFLAGS, 4, oldFlags);
    for (let r: u32 = 0; r < 8; r++) writeSys(oldBase + T32_GPR + (r << 2), 4, reg32(r));
    for (let s: u32 = 0; s < 6; s++) writeSys(oldBase + T32_SEG + (s << 2), 2, segSelector(s));
  } else {
    writeSys(oldBase + T16_IP, 2, returnEip);
    writeSys(oldBase + T16_FLAGS, 2, oldFlags);
    for (let r: u32 = 0; r < 8; r++) writeSys(oldBase + T16_GPR + (r << 1), 2, reg32(r));
    for (let s: u32 = 0; s < 4; s++) writeSys(oldBase + T16_SEG + (s << 1), 2, segSelector(s));
  }
  if (aborted()) return;
  // busy bits and the back link (Table 7-2)
  if (source == TaskSource.Jmp || source == TaskSource.Iret) setBusy(oldSel, false);
  if (source == TaskSource.Call || source == TaskSource.Int) {
    writeSys(base, 2, oldSel);
    newFlags |= NT;
  }
  if (source != TaskSource.Iret) writeSys(at + 4, 4, hi | BUSY);
  if (aborted()) return;

  // commit: from here on the new task is current
  setSegCache(SEG_TR, sel, base, limit, attr | 2);
  store<u32>(ACTIVE + S_CR0, load<u32>(ACTIVE + S_CR0) | CR0_TS);
  store<u32>(ACTIVE + S_DR + 28, load<u32>(ACTIVE + S_DR + 28) & ~0x155); // DR7 L0-L3, LE
  if (is32 && (load<u32>(ACTIVE + S_CR0) & CR0_PG)) {
    writeCr3(cr3); // PAE PDPTEs, and global pages kept as MOV CR3 keeps them
  }
  setFlagsRaw((newFlags | 2) & ~RF); // RF stays clear, as after IRET (control.ts)
  setEip(newEip);
  setInsnStart(newEip); // a fault from here on is the new task's
  for (let r: u32 = 0; r < 8; r++) setReg32(r, gpr(r));
  endBlock();
  // selectors first, with unusable caches: a fault below leaves them visible
  for (let s: u32 = 0; s < 6; s++) setSegCache(s, segSel(s), 0, 0, 0);
  setSegCache(SEG_LDTR, ldt, 0, 0, 0);
  if (newFlags & VM) {
    for (let s: u32 = 0; s < 6; s++) loadSegReal(s, segSel(s));
    updateAccessMode();
    return;
  }
  loadTaskLdt(ldt, ext);
  if (aborted()) return;
  const cpl = segSel(SEG_CS) & 3;
  store<u32>(ACTIVE + S_CPL, cpl);
  updateAccessMode();
  loadTaskCode(segSel(SEG_CS), ext);
  if (aborted()) return;
  loadProtectedSegment(SEG_SS, segSel(SEG_SS), cpl, TS, ext);
  loadProtectedSegment(SEG_ES, segSel(SEG_ES), cpl, TS, ext);
  loadProtectedSegment(SEG_DS, segSel(SEG_DS), cpl, TS, ext);
  loadProtectedSegment(SEG_FS, segSel(SEG_FS), cpl, TS, ext);
  loadProtectedSegment(SEG_GS, segSel(SEG_GS), cpl, TS, ext);
}

// The new task's LDT: null, or an LDT descriptor in the GDT; else #TS(ldt).
function loadTaskLdt(sel: u32, ext: u32): void {
  if ((sel & 0xFFFC) == 0) return;
  const code = (sel & 0xFFFC) | ext;
  if (sel & 4) { raise(TS, code, true); return; }
  if (!fetchDescriptor(sel)) { if (!aborted()) raise(TS, code, true); return; }
  const attr = descAttr(descHi);
  if ((attr & 0x1F) != 0x02 || !attrPresent(attr)) { raise(TS, code, true); return; }
  setSegCache(SEG_LDTR, sel, descBase(descLo, descHi), descLimit(descLo, descHi), attr);
}

// The new task's CS: a code segment whose DPL fits the selector's RPL.
function loadTaskCode(sel: u32, ext: u32): void {
  const code = (sel & 0xFFFC) | ext;
  if ((sel & 0xFFFC) == 0) { raise(TS, code, true); return; }
  if (!fetchDescriptor(sel)) { if (!aborted()) raise(TS, code, true); return; }
  const attr = descAttr(descHi);
  const dpl = attrDpl(attr), rpl = sel & 3;
  if (!attrIsSegment(attr) || !attrIsCode(attr) || (attrConforming(attr) ? dpl > rpl : dpl != rpl)) {
    raise(TS, code, true); return;
  }
  if (!attrPresent(attr)) { raise(NP, code, true); return; }
  markAccessed();
  setSegCache(SEG_CS, sel, descBase(descLo, descHi), descLimit(descLo, descHi), attr);
}
