// Exception and interrupt delivery: the real-mode IVT, protected-mode IDT gates
// with privilege changes through the TSS, and the double/triple-fault rules.
import {
  ACTIVE, S_IDTR_BASE, S_IDTR_LIMIT, S_CPL, S_EFLAGS, S_HALTED, SEG_CS, SEG_SS,
  SEG_DS, SEG_ES, SEG_FS, SEG_GS, ExitReason, S_LAST_VECTOR, S_LAST_ERROR, S_DR,
} from "../layout";
import {
  eip, setEip, reg32, ESP, segSelector, loadSegReal,
  setSegCache, protectedMode, TF, IF, NT, RF, VM, AC,
} from "./state";
import { getFlags, setFlagsRaw } from "./flags";
import { readSys, segLinear, updateAccessMode, write16 } from "./memory";
import {
  raise, aborted, clearAbort, exitReason, faultVector, faultCode, faultHasCode, requestExit, endBlock,
  GP, NP, SS, DF, DE, PF, DB,
} from "./fault";
import {
  fetchDescriptor, descLo, descHi, descAttr, attrDpl, attrPresent, attrIsCode, attrConforming,
  loadCodeSegment, descLimit, setDescriptor, descAddr,
} from "./descriptor";
import { spMask, getSP, setSP, writeStack } from "./operand";
import { innerStack, stackFits, stackEsp, stackSel, writeInnerStack, enterInnerStack } from "./tss";
import { interruptTask } from "./task";

// Where an event comes from: it decides the EXT bit and the gate-DPL check.
export const enum Source { Exception = 0, Software = 1, External = 2 }

function contributory(v: u32): bool { return v == DE || (v >= 10 && v <= 13); }

// Fault-class exceptions: #DE #BR #UD #NM #TS #NP #SS #GP #PF #MF #AC.
const FAULTS: u32 = 1 << 0 | 1 << 5 | 1 << 6 | 1 << 7 | 0xF << 10 | 1 << 14 | 1 << 16 | 1 << 17;
// The EFLAGS image a fault-class exception pushes (or saves in the TSS) has
// RF = 1 (SDM vol. 3, 17.3.1.1); delivery clears it in the handler's EFLAGS.
function setResumeFlag(v: u32): void {
  if (v < 32 && ((FAULTS >> v) & 1) && protectedMode()) store<u32>(ACTIVE + S_EFLAGS, load<u32>(ACTIVE + S_EFLAGS) | RF);
}

// Deliver exception `vector` (raised by the instruction that started at EIP),
// escalating to #DF and to a triple fault (shutdown exit) as the manuals say.
export function exception(vector: u32, hasCode: bool, code: u32): void {
  store<u32>(ACTIVE + S_LAST_VECTOR, vector);
  store<u32>(ACTIVE + S_LAST_ERROR, code);
  let v = vector, c = code, h = hasCode;
  for (let tries = 0; tries < 3; tries++) {
    clearAbort();
    setResumeFlag(v);
    deliver(v, Source.Exception, h, c, eip());
    if (!aborted()) return;
    if (exitReason == ExitReason.Error) { clearAbort(); return; } // an unsupported path stopped the VM
    const nv = faultVector;
    if (v == DF) break; // a fault while delivering #DF: triple fault
    if ((contributory(v) && contributory(nv)) || (v == PF && (nv == PF || contributory(nv)))) {
      v = DF; c = 0; h = true;
    } else {
      v = nv; c = faultCode; h = faultHasCode;
    }
  }
  clearAbort();
  requestExit(ExitReason.Shutdown);
}

// INT n / INT3 / INTO / external interrupts; `next` is the EIP to return to.
export function interrupt(vector: u32, source: Source, next: u32): void {
  deliver(vector, source, false, 0, next);
  if (aborted()) {
    const v = faultVector, c = faultCode, h = faultHasCode;
    if (source == Source.Software) return; // the run loop delivers the fault for INT n
    exception(v, h, c);
  }
}

// The single-step trap after an instruction run with TF set: DR6.BS says why.
export function singleStepTrap(next: u32): void {
  store<u32>(ACTIVE + S_DR + 24, load<u32>(ACTIVE + S_DR + 24) | 0x4000);
  interrupt(DB, Source.Exception, next);
}

// One delivery attempt. On failure abort is set with the new fault.
function deliver(vector: u32, source: Source, hasCode: bool, code: u32, returnEip: u32): void {
  store<u32>(ACTIVE + S_HALTED, 0);
  endBlock();
  if (!protectedMode()) { deliverReal(vector, returnEip); return; }
  deliverProtected(vector, source, hasCode, code, returnEip);
}

function deliverReal(vector: u32, returnEip: u32): void {
  const entry = vector << 2;
  if (entry + 3 > load<u32>(ACTIVE + S_IDTR_LIMIT)) { raise(GP, 0, true); return; }
  const ivt = load<u32>(ACTIVE + S_IDTR_BASE) + entry;
  const ip = readSys(ivt, 2);
  const cs = readSys(ivt + 2, 2);
  if (aborted()) return;
  const flags = getFlags();
  const sp = getSP();
  // three words below SP; the whole frame is checked before anything is written
  const l0 = segLinear(SEG_SS, (sp - 2) & 0xFFFF, 2, true);
  const l1 = segLinear(SEG_SS, (sp - 4) & 0xFFFF, 2, true);
  const l2 = segLinear(SEG_SS, (sp - 6) & 0xFFFF, 2, true);
  if (aborted()) return;
  write16(l0, flags);
  write16(l1, segSelector(SEG_CS));
  write16(l2, returnEip);
  if (aborted()) return;
  setSP(sp - 6);
  setFlagsRaw(flags & ~(IF | TF | AC));
  loadSegReal(SEG_CS, cs);
  setEip(ip);
}

function idtError(vector: u32, source: Source): u32 { return (vector << 3) | 2 | (source == Source.Software ? 0 : 1); }

function deliverProtected(vector: u32, source: Source, hasCode: bool, code: u32, returnEip: u32): void {
  const ext: u32 = source == Source.Software ? 0 : 1;
  const cpl = load<u32>(ACTIVE + S_CPL);
  if ((vector << 3) + 7 > load<u32>(ACTIVE + S_IDTR_LIMIT)) { raise(GP, idtError(vector, source), true); return; }
  const gateAddr = load<u32>(ACTIVE + S_IDTR_BASE) + (vector << 3);
  const lo = readSys(gateAddr, 4);
  const hi = readSys(gateAddr + 4, 4);
  if (aborted()) return;
  const type = (hi >> 8) & 0x1F;
  const gateDpl = (hi >> 13) & 3;
  if (type != 0x05 && type != 0x06 && type != 0x07 && type != 0x0E && type != 0x0F) { raise(GP, idtError(vector, source), true); return; }
  if (source == Source.Software && gateDpl < cpl) { raise(GP, idtError(vector, source), true); return; }
  if (!(hi & 0x8000)) { raise(NP, idtError(vector, source), true); return; }
  if (type == 0x05) { interruptTask(lo >>> 16, ext, hasCode, code, returnEip); return; }
  const gate32 = (type & 8) != 0;
  const trapGate = (type & 1) != 0;
  const sel = lo >>> 16;
  const offset = gate32 ? ((lo & 0xFFFF) | (hi & 0xFFFF0000)) : (lo & 0xFFFF);
  if ((sel & 0xFFFC) == 0) { raise(GP, ext, true); return; }
  if (!fetchDescriptor(sel)) { if (!aborted()) raise(GP, (sel & 0xFFFC) | ext, true); return; }
  const attr = descAttr(descHi);
  const dpl = attrDpl(attr);
  if (!attrIsCode(attr) || dpl > cpl) { raise(GP, (sel & 0xFFFC) | ext, true); return; }
  if (!attrPresent(attr)) { raise(NP, (sel & 0xFFFC) | ext, true); return; }
  if (offset > descLimit(descLo, descHi)) { raise(GP, ext, true); return; }
  const csLo = descLo, csHi = descHi, csAt = descAddr;
  const flags = getFlags();
  const fromV86 = (flags & VM) != 0;
  const bytes: u32 = gate32 ? 4 : 2;

  if (!attrConforming(attr) && dpl < cpl) {
    if (fromV86 && dpl != 0) { raise(GP, (sel & 0xFFFC) | ext, true); return; }
    // inner privilege: the new stack comes from the TSS
    if (!innerStack(dpl, ext)) return;
    const frame: u32 = ((fromV86 ? 9 : 5) + (hasCode ? 1 : 0)) * bytes;
    if (!stackFits(stackEsp, frame)) { raise(SS, (stackSel & 0xFFFC) | ext, true); return; }
    let p = stackEsp;
    if (fromV86) {
      p -= bytes; writeInnerStack(p, bytes, segSelector(SEG_GS));
      p -= bytes; writeInnerStack(p, bytes, segSelector(SEG_FS));
      p -= bytes; writeInnerStack(p, bytes, segSelector(SEG_DS));
      p -= bytes; writeInnerStack(p, bytes, segSelector(SEG_ES));
    }
    p -= bytes; writeInnerStack(p, bytes, segSelector(SEG_SS));
    p -= bytes; writeInnerStack(p, bytes, reg32(ESP));
    p -= bytes; writeInnerStack(p, bytes, flags);
    p -= bytes; writeInnerStack(p, bytes, segSelector(SEG_CS));
    p -= bytes; writeInnerStack(p, bytes, returnEip);
    if (hasCode) { p -= bytes; writeInnerStack(p, bytes, code); }
    if (aborted()) return;
    // commit: new stack, new CS, flags
    enterInnerStack(p);
    if (fromV86) {
      setSegCache(SEG_DS, 0, 0, 0, 0); setSegCache(SEG_ES, 0, 0, 0, 0);
      setSegCache(SEG_FS, 0, 0, 0, 0); setSegCache(SEG_GS, 0, 0, 0, 0);
    }
    setDescriptor(csLo, csHi, csAt);
    loadCodeSegment(sel, dpl);
  } else {
    if (fromV86) { raise(GP, (sel & 0xFFFC) | ext, true); return; }
    // same privilege: push on the current stack
    const m = spMask();
    const sp = getSP();
    const frame: u32 = (3 + (hasCode ? 1 : 0)) * bytes;
    // check both ends of the frame before writing any of it
    segLinear(SEG_SS, (sp - frame) & m, bytes, true);
    segLinear(SEG_SS, (sp - bytes) & m, bytes, true);
    if (aborted()) return;
    const sz: u32 = gate32 ? 2 : 1;
    let p = sp;
    p -= bytes; writeStack(p, sz, flags);
    p -= bytes; writeStack(p, sz, segSelector(SEG_CS));
    p -= bytes; writeStack(p, sz, returnEip);
    if (hasCode) { p -= bytes; writeStack(p, sz, code); }
    if (aborted()) return;
    setSP(p);
    setDescriptor(csLo, csHi, csAt);
    loadCodeSegment(sel, cpl);
  }
  let nf = flags & ~(TF | NT | RF | VM);
  if (!trapGate) nf &= ~IF;
  setFlagsRaw(nf);
  updateAccessMode();
  setEip(offset);
}

