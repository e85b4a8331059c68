// Far control transfers: JMP/CALL far, RETF, IRET, in real, V86 and protected
// mode, with the privilege rules of direct code-segment transfers.
import { ACTIVE, S_CPL, SEG_CS, SEG_SS, SEG_ES, SEG_DS, SEG_FS, SEG_GS, S_NMI, NmiBit } from "../layout";
import {
  eip, setEip, segSelector, segLimit, loadSegReal, protectedMode, v86Mode, setSegCache, reg32, setReg32, ESP,
  IF, IOPL, NT, RF, VM, VIF, VIP,
} from "./state";
import { getFlags, setFlagsRaw } from "./flags";
import { raise, GP, NP, SS, aborted, endBlock } from "./fault";
import {
  fetchDescriptor, descLo, descHi, descAttr, attrDpl, attrPresent, attrIsCode, attrIsSegment, attrConforming,
  loadCodeSegment, descBase, descLimit, markAccessed, nullifyForOuterLevel, setDescriptor, descAddr,
} from "./descriptor";
import { peek, getSP, setSP, spMask, writeStack } from "./operand";
import { updateAccessMode, segLinear, read16, read32 } from "./memory";
import { jmpCallTask, iretTask } from "./task";
import { innerStack, stackFits, stackEsp, stackSel, writeInnerStack, enterInnerStack } from "./tss";

@inline function cplNow(): u32 { return load<u32>(ACTIVE + S_CPL); }

// Check a direct far JMP/CALL target (selector already fetched into descLo/descHi).
// Returns false after raising the fault.
function checkDirectCode(sel: u32, offset: u32): bool {
  const attr = descAttr(descHi);
  const cpl = cplNow();
  if (!attrIsCode(attr)) { raise(GP, sel & 0xFFFC, true); return false; }
  if (attrConforming(attr)) {
    if (attrDpl(attr) > cpl) { raise(GP, sel & 0xFFFC, true); return false; }
  } else if ((sel & 3) > cpl || attrDpl(attr) != cpl) { raise(GP, sel & 0xFFFC, true); return false; }
  if (!attrPresent(attr)) { raise(NP, sel & 0xFFFC, true); return false; }
  if (offset > descLimit(descLo, descHi)) { raise(GP, 0, true); return false; }
  return true;
}

// Fetch the target descriptor of a protected-mode far transfer; false on a fault.
function fetchTarget(sel: u32): bool {
  if ((sel & 0xFFFC) == 0) { raise(GP, 0, true); return false; }
  if (!fetchDescriptor(sel)) { if (!aborted()) raise(GP, sel & 0xFFFC, true); return false; }
  return true;
}

@inline function isCallGate(attr: u32): bool { return (attr & 0x17) == 0x04; } // types 4 and C

// JMP far, or CALL far (`call`: push CS and the return EIP at operand size sz,
// 1 = word, 2 = dword), to a code segment, a call gate, a TSS or a task gate.
function farTransfer(sel: u32, offset: u32, call: bool, sz: u32, returnEip: u32): void {
  endBlock();
  const bytes: u32 = sz == 2 ? 4 : 2;
  const sp = getSP();
  if (!protectedMode() || v86Mode()) {
    if (call) {
      writeStack(sp - bytes, sz, segSelector(SEG_CS));
      writeStack(sp - 2 * bytes, sz, returnEip);
      if (aborted()) return;
      setSP(sp - 2 * bytes);
    }
    loadSegReal(SEG_CS, sel);
    setEip(offset);
    return;
  }
  if (!fetchTarget(sel)) return;
  const attr = descAttr(descHi);
  if (!attrIsSegment(attr)) {
    if (isCallGate(attr)) callGate(sel, call, returnEip);
    else jmpCallTask(sel, call, returnEip);
    return;
  }
  if (!checkDirectCode(sel, offset)) return;
  if (call) {
    const lo = descLo, hi = descHi, at = descAddr; // the stack writes may fetch nothing, but keep CS's
    writeStack(sp - bytes, sz, segSelector(SEG_CS));
    writeStack(sp - 2 * bytes, sz, returnEip);
    if (aborted()) return;
    setSP(sp - 2 * bytes);
    setDescriptor(lo, hi, at);
  }
  loadCodeSegment(sel, cplNow());
  setEip(offset);
}

export function jmpFar(sel: u32, offset: u32): void { farTransfer(sel, offset, false, 2, eip()); }

export function callFar(sel: u32, offset: u32, sz: u32, returnEip: u32): void {
  farTransfer(sel, offset, true, sz, returnEip);
}

// Parameters a call gate copies to the inner stack (at most 31).
const GATE_PARAMS: usize = memory.data(32 * 4);

// CALL/JMP through a call gate (its descriptor in descLo/descHi). The gate's
// size, not the operand size, sets the size of what is pushed.
function callGate(gateSel: u32, call: bool, returnEip: u32): void {
  const gLo = descLo, gHi = descHi;
  const gAttr = descAttr(gHi);
  const cpl = cplNow();
  const gDpl = attrDpl(gAttr);
  if (gDpl < cpl || gDpl < (gateSel & 3)) { raise(GP, gateSel & 0xFFFC, true); return; }
  if (!attrPresent(gAttr)) { raise(NP, gateSel & 0xFFFC, true); return; }
  const sel = gLo >>> 16;
  const gate32 = (gAttr & 8) != 0;
  const sz: u32 = gate32 ? 2 : 1;
  const bytes: u32 = gate32 ? 4 : 2;
  const offset = gate32 ? (gLo & 0xFFFF) | (gHi & 0xFFFF0000) : gLo & 0xFFFF;
  if ((sel & 0xFFFC) == 0) { raise(GP, 0, true); return; }
  if (!fetchDescriptor(sel)) { if (!aborted()) raise(GP, sel & 0xFFFC, true); return; }
  const attr = descAttr(descHi);
  const dpl = attrDpl(attr);
  if (!attrIsSegment(attr) || !attrIsCode(attr) || dpl > cpl) { raise(GP, sel & 0xFFFC, true); return; }
  if (!call && !attrConforming(attr) && dpl != cpl) { raise(GP, sel & 0xFFFC, true); return; }
  if (!attrPresent(attr)) { raise(NP, sel & 0xFFFC, true); return; }
  const csLo = descLo, csHi = descHi, csAt = descAddr;
  const limit = descLimit(csLo, csHi);

  if (call && !attrConforming(attr) && dpl < cpl) {
    // more privilege: the stack of ring `dpl` from the TSS, the caller's
    // SS:ESP and parameters copied onto it
    if (!innerStack(dpl, 0)) return;
    const count = (gHi & 0x1F);
    if (!stackFits(stackEsp, (count + 4) * bytes)) { raise(SS, stackSel & 0xFFFC, true); return; }
    if (offset > limit) { raise(GP, 0, true); return; }
    const sp = getSP();
    for (let i: u32 = 0; i < count; i++) store<u32>(GATE_PARAMS + (i << 2), peekAt(sp + i * bytes, sz));
    let p = stackEsp;
    p -= bytes; writeInnerStack(p, bytes, segSelector(SEG_SS));
    p -= bytes; writeInnerStack(p, bytes, reg32(ESP));
    for (let i = <i32>count - 1; i >= 0; i--) { p -= bytes; writeInnerStack(p, bytes, load<u32>(GATE_PARAMS + (<u32>i << 2))); }
    p -= bytes; writeInnerStack(p, bytes, segSelector(SEG_CS));
    p -= bytes; writeInnerStack(p, bytes, returnEip);
    if (aborted()) return;
    enterInnerStack(p);
    setDescriptor(csLo, csHi, csAt);
    loadCodeSegment(sel, dpl);
    updateAccessMode();
    setEip(offset);
    return;
  }
  // same privilege (or a conforming segment): CPL stays
  if (call) {
    const sp = getSP();
    writeStack(sp - bytes, sz, segSelector(SEG_CS));
    writeStack(sp - 2 * bytes, sz, returnEip);
    if (aborted()) return;
    if (offset > limit) { raise(GP, 0, true); return; }
    setSP(sp - 2 * bytes);
  } else if (offset > limit) { raise(GP, 0, true); return; }
  setDescriptor(csLo, csHi, csAt);
  loadCodeSegment(sel, cpl);
  setEip(offset);
}

// A word or dword of the current stack at offset `sp` (a caller's parameter).
function peekAt(sp: u32, sz: u32): u32 {
  const lin = segLinear(SEG_SS, sp & spMask(), sz == 2 ? 4 : 2, false);
  if (aborted()) return 0;
  return sz == 2 ? read32(lin) : read16(lin);
}

// Validate the CS a RETF/IRET returns to (protected mode). False after a fault.
function checkReturnCode(sel: u32): bool {
  const cpl = cplNow();
  if ((sel & 0xFFFC) == 0) { raise(GP, 0, true); return false; }
  if (!fetchDescriptor(sel)) { if (!aborted()) raise(GP, sel & 0xFFFC, true); return false; }
  const attr = descAttr(descHi);
  const rpl = sel & 3;
  if (rpl < cpl || !attrIsCode(attr)) { raise(GP, sel & 0xFFFC, true); return false; }
  if (attrConforming(attr) ? attrDpl(attr) > rpl : attrDpl(attr) != rpl) { raise(GP, sel & 0xFFFC, true); return false; }
  if (!attrPresent(attr)) { raise(NP, sel & 0xFFFC, true); return false; }
  return true;
}

// Load SS:ESP for a return to the outer level `rpl`. False after a fault.
function checkOuterStack(ssSel: u32, rpl: u32): bool {
  if ((ssSel & 0xFFFC) == 0) { raise(GP, 0, true); return false; }
  if ((ssSel & 3) != rpl) { raise(GP, ssSel & 0xFFFC, true); return false; }
  if (!fetchDescriptor(ssSel)) { if (!aborted()) raise(GP, ssSel & 0xFFFC, true); return false; }
  const attr = descAttr(descHi);
  if ((attr & 0x1A) != 0x12 || attrDpl(attr) != rpl) { raise(GP, ssSel & 0xFFFC, true); return false; }
  if (!attrPresent(attr)) { raise(SS, ssSel & 0xFFFC, true); return false; }
  return true;
}

// RETF imm: pop EIP and CS, release `imm` bytes of parameters.
export function retFar(sz: u32, imm: u32): void {
  endBlock();
  const bytes: u32 = sz == 2 ? 4 : 2;
  const ip = peek(sz, 0);
  const cs = peek(sz, bytes) & 0xFFFF;
  if (aborted()) return;
  const sp = getSP();
  if (!protectedMode() || v86Mode()) {
    if (ip > segLimit(SEG_CS) && !protectedMode()) { raise(GP, 0, true); return; }
    setSP(sp + 2 * bytes + imm);
    loadSegReal(SEG_CS, cs);
    setEip(ip);
    return;
  }
  if (!checkReturnCode(cs)) return;
  const rpl = cs & 3;
  if (ip > descLimit(descLo, descHi)) { raise(GP, 0, true); return; }
  const csLo = descLo, csHi = descHi, csAt = descAddr;
  if (rpl == cplNow()) {
    setSP(sp + 2 * bytes + imm);
    loadCodeSegment(cs, rpl);
    setEip(ip);
    return;
  }
  // return to an outer level: the caller's SS:ESP follows the parameters
  const newEsp = peek(sz, 2 * bytes + imm);
  const newSs = peek(sz, 3 * bytes + imm) & 0xFFFF;
  if (aborted()) return;
  if (!returnToOuterLevel(cs, rpl, csLo, csHi, csAt, newSs, newEsp + imm)) return;
  nullifyForOuterLevel();
  updateAccessMode();
  setEip(ip);
}

// RETF/IRET to the outer level `rpl`: load SS (checked) and ESP, then CS from
// the descriptor saved in csLo/csHi/csAt. False after a fault.
function returnToOuterLevel(cs: u32, rpl: u32, csLo: u32, csHi: u32, csAt: u32, newSs: u32, newEsp: u32): bool {
  if (!checkOuterStack(newSs, rpl)) return false;
  markAccessed();
  const ssAttr = descAttr(descHi);
  setSegCache(SEG_SS, newSs, descBase(descLo, descHi), descLimit(descLo, descHi), ssAttr);
  setDescriptor(csLo, csHi, csAt);
  loadCodeSegment(cs, rpl);
  setReg32(ESP, (ssAttr & 0x4000) ? newEsp : (reg32(ESP) & 0xFFFF0000) | (newEsp & 0xFFFF));
  return true;
}

// IRET / IRETD.
export function iret(sz: u32): void {
  endBlock();
  // IRET ends the NMI handler's blocking, even when it faults
  store<u32>(ACTIVE + S_NMI, load<u32>(ACTIVE + S_NMI) & ~NmiBit.Blocked);
  const bytes: u32 = sz == 2 ? 4 : 2;
  const cur = getFlags();
  if (v86Mode() && ((cur & IOPL) >> 12) != 3) { raise(GP, 0, true); return; }
  // NT set: return to the task in the back link; nothing is popped
  if ((cur & NT) && protectedMode() && !v86Mode()) { iretTask(); return; }
  const ip = peek(sz, 0);
  const cs = peek(sz, bytes) & 0xFFFF;
  const fl = peek(sz, 2 * bytes);
  if (aborted()) return;
  const sp = getSP();
  if (!protectedMode() || v86Mode()) {
    // real mode loads every flag but VM/VIF/VIP; V86 (IOPL 3) keeps IOPL too
    let keep: u32 = VM | VIF | VIP;
    if (v86Mode()) keep |= IOPL;
    let nf: u32 = sz == 2 ? fl : (cur & 0xFFFF0000) | (fl & 0xFFFF);
    nf = (nf & ~keep & ~RF) | (cur & keep);
    setSP(sp + 3 * bytes);
    setFlagsRaw(nf);
    updateAccessMode(); // EFLAGS.AC may have changed
    loadSegReal(SEG_CS, cs);
    setEip(ip);
    return;
  }
  const cpl = cplNow();
  if (sz == 2 && (fl & VM) && cpl == 0) { iretToV86(ip, cs, fl); return; }
  if (!checkReturnCode(cs)) return;
  if (ip > descLimit(descLo, descHi)) { raise(GP, 0, true); return; }
  const rpl = cs & 3;
  const csLo = descLo, csHi = descHi, csAt = descAddr;
  // which flags the return may change depends on the privilege it runs at
  // RF stays clear: it only masks instruction breakpoints, which this core does
  // not raise, so the RF that events push is what the SDM gives for all but an
  // interrupt taken right after an IRET that set it
  let mask: u32 = 0x3F7FD5 & ~(VM | VIF | VIP | RF); // CF PF AF ZF SF TF IF DF OF IOPL NT AC ID
  if (sz != 2) mask &= 0xFFFF;
  if (cpl > 0) mask &= ~IOPL;
  if (cpl > ((cur & IOPL) >> 12)) mask &= ~IF;
  const nf = (cur & ~mask) | (fl & mask);
  if (rpl == cpl) {
    setSP(sp + 3 * bytes);
    setDescriptor(csLo, csHi, csAt);
    loadCodeSegment(cs, rpl);
    setFlagsRaw(nf);
    updateAccessMode();
    setEip(ip);
    return;
  }
  const newEsp = peek(sz, 3 * bytes);
  const newSs = peek(sz, 4 * bytes) & 0xFFFF;
  if (aborted()) return;
  if (!returnToOuterLevel(cs, rpl, csLo, csHi, csAt, newSs, newEsp)) return;
  setFlagsRaw(nf);
  nullifyForOuterLevel();
  updateAccessMode();
  setEip(ip);
}

// IRETD from CPL 0 with VM set in the popped EFLAGS: enter virtual-8086 mode.
function iretToV86(ip: u32, cs: u32, fl: u32): void {
  const esp = peek(2, 12), ss = peek(2, 16), es = peek(2, 20), ds = peek(2, 24), fs = peek(2, 28), gs = peek(2, 32);
  if (aborted()) return;
  setFlagsRaw((fl & (0x3F7FD5 | VM | VIF | VIP)) & ~RF);
  store<u32>(ACTIVE + S_CPL, 3);
  loadSegReal(SEG_CS, cs);
  loadSegReal(SEG_SS, ss);
  loadSegReal(SEG_ES, es);
  loadSegReal(SEG_DS, ds);
  loadSegReal(SEG_FS, fs);
  loadSegReal(SEG_GS, gs);
  setReg32(ESP, esp);
  updateAccessMode();
  setEip(ip & 0xFFFF);
}

// POPF/POPFD with the IOPL and IF rules; V86 with IOPL < 3 faults.
export function popFlagsValue(v: u32, sz: u32): bool {
  const cur = getFlags();
  const iopl = (cur & IOPL) >> 12;
  let mask: u32 = 0x3F7FD5 & ~(VM | VIF | VIP | RF);
  if (sz != 2) mask &= 0xFFFF;
  if (protectedMode()) {
    if (v86Mode()) {
      if (iopl != 3) { raise(GP, 0, true); return false; }
      mask &= ~IOPL;
    } else {
      const cpl = cplNow();
      if (cpl > 0) mask &= ~IOPL;
      if (cpl > iopl) mask &= ~IF;
    }
  }
  setFlagsRaw((cur & ~mask) | (v & mask));
  updateAccessMode(); // EFLAGS.AC may have changed
  return true;
}
