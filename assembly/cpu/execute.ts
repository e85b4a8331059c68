// The handlers the opcode table (opcodes.mjs) names, in opcode order. The
// generated dispatch (dispatch.generated.ts) calls each with the operand size
// `sz` (0 byte, 1 word, 2 dword) and the form `mem` fixed at decode time, so
// the inlined ones fold to straight-line code for their one form. EIP already
// points at the next instruction when a handler marked `sync` runs.
import { R_IMM, R_IMM2, R_DISP, R_REG, R_RM, R_ATTR, R_SKIP, Attr } from "./decode";
import {
  reg32, setReg32, reg16, setReg16, reg8, setReg8, regSz, setRegSz, eip, setEip, EAX, ECX, EDX, EBX, ESP, EBP,
  segSelector, protectedMode, v86Mode, CF, ZF, OF, IF, DF, IOPL, VM, RF, cpl,
} from "./state";
import { getFlags, setFlagsRaw, carry, condition, sizeMask } from "./flags";
import {
  o32, a32, isMem, regField, rmField, readE, writeE, readModify, writeBack, readG, writeG, effectiveOffset,
  effectiveLinear, push, pop, peek, getSP, setSP, spMask, writeStack, segOf, bytesOf, readM, writeM, readModifyM,
  writeBackM,
} from "./operand";
import { alu, inc, dec, neg, shift, doubleShift, setMulFlags, logicFlags, daa, das, asciiAdjust, aam, aad, ALU_CMP } from "./alu";
import { segLinear, readSz, writeSz, read8, read16, read32, write32, probeWrite } from "./memory";
import { raise, raiseUD, raiseGP, aborted, endBlock, jumped, jumpedInBlock, JUMP_OK, requestExit, DE, BR } from "./fault";
import { loadSegment } from "./descriptor";
import { interrupt, Source } from "./interrupt";
import { jmpFar, callFar, retFar, iret, popFlagsValue } from "./control";
import { requirePrivilege } from "./system";
import { ExitReason, ACTIVE, S_HALTED, S_SHADOW, S_PAUSE_EXIT, SEG_SS, EXIT_DETAIL_FLAGS, DetailFlag, SCRATCH } from "../layout";

// Names the table's expressions use directly.
export { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP, logicFlags } from "./alu";
export { setReg8, setRegSz, reg8, reg16, regSz, eip, protectedMode, v86Mode, segSelector, EAX, EDX, CF, DF } from "./state";
export { getFlags, setFlagsRaw, carry, condition } from "./flags";
export { push, writeE, writeG, readG, regField, effectiveOffset } from "./operand";
export { raiseUD, raiseGP } from "./fault";
export { interrupt, Source } from "./interrupt";
export { jmpFar, callFar, retFar, iret } from "./control";
export { stringOp, StrOp } from "./string";
export { out, inp, outs, ins } from "./io";
export { sseLoad, sseStore } from "./sse-move";
export { fxsave, fxrstor, ldmxcsr, stmxcsr, fence } from "./sse-state";
export { group6, group7, larLsl, movControl, clts, rdtsc, cpuid, rdmsr, wrmsr, requirePrivilege } from "./system";
export { fpuEscape, fpuWait } from "../fpu/dispatch";

@inline export function imm(rec: u32): u32 { return load<u32>(rec + R_IMM); }
@inline export function imm8s(rec: u32): u32 { return <u32><i32><i8>load<u32>(rec + R_IMM); }
@inline export function imm2(rec: u32): u32 { return load<u32>(rec + R_IMM2); }
@inline function ipMask(rec: u32): u32 { return o32(rec) ? 0xFFFFFFFF : 0xFFFF; }

@inline function gReg(rec: u32): u32 { return load<u8>(rec + R_REG); }

// Defined by the architecture but missing here: #UD, flagged for the crash report.
export function unimplemented(): void {
  store<u32>(EXIT_DETAIL_FLAGS, DetailFlag.Unimplemented);
  raiseUD();
}

// A taken relative branch: the target is truncated to the operand size.
export function jumpRel(rec: u32, disp: u32): void {
  setEip((eip() + disp) & ipMask(rec));
  jumped();
}
// The same for a Branch handler, which has no sync point: `next` is the
// instruction's end, worked out from the record.
@inline export function branchRel(rec: u32, next: u32, disp: u32): void {
  setEip((next + disp) & ipMask(rec));
  jumped();
}
// A taken Rel branch (Jcc, JMP rel): to a record of its own block (R_SKIP,
// run.ts resolveTargets) the run loop goes on there itself while it allows
// that (JUMP_OK); EIP is then not set (the next sync point or the block's end does).
@inline export function relJump(rec: u32, next: u32, disp: u32): void {
  if (load<u8>(rec + R_SKIP) & load<u8>(JUMP_OK)) { jumpedInBlock(); return; }
  branchRel(rec, next, disp);
}

// ---- 00-3F: ALU ----
// Register forms are inlined into the dispatch, one straight-line case each;
// memory forms share one called function per operation (the access dominates).
// E op= G (the destination is E; CMP only compares).
@inline export function aluEG(rec: u32, kind: u32, sz: u32, mem: bool): void {
  if (mem) { aluEGm(rec, kind, sz); return; }
  const e = load<u8>(rec + R_RM);
  const r = alu(kind, sz, regSz(e, sz), regSz(gReg(rec), sz));
  if (kind != ALU_CMP) setRegSz(e, sz, r);
}
@inline function aluEGm(rec: u32, kind: u32, sz: u32): void {
  const a = kind == ALU_CMP ? readM(rec, sz) : readModifyM(rec, sz);
  if (aborted()) return;
  const r = alu(kind, sz, a, regSz(gReg(rec), sz));
  if (kind != ALU_CMP) writeBackM(sz, r);
}
// G op= E.
@inline export function aluGE(rec: u32, kind: u32, sz: u32, mem: bool): void {
  if (mem) { aluGEm(rec, kind, sz); return; }
  const g = gReg(rec);
  const r = alu(kind, sz, regSz(g, sz), regSz(load<u8>(rec + R_RM), sz));
  if (kind != ALU_CMP) setRegSz(g, sz, r);
}
@inline function aluGEm(rec: u32, kind: u32, sz: u32): void {
  const b = readM(rec, sz);
  if (aborted()) return;
  const g = gReg(rec);
  const r = alu(kind, sz, regSz(g, sz), b);
  if (kind != ALU_CMP) setRegSz(g, sz, r);
}
// AL/eAX op= imm.
@inline export function aluAI(rec: u32, kind: u32, sz: u32): void {
  const r = alu(kind, sz, regSz(EAX, sz), imm(rec));
  if (kind != ALU_CMP) setRegSz(EAX, sz, r);
}

export function pushSeg(rec: u32, s: u32): void {
  push(o32(rec) ? 2 : 1, segSelector(s));
}

// The stack pointer advances as the stack was when the value was read: a POP SS
// that loads a 32-bit SS from a 16-bit stack still moves only SP.
export function popSeg(rec: u32, s: u32): void {
  const sz: u32 = o32(rec) ? 2 : 1;
  const v = peek(sz, 0);
  if (aborted()) return;
  const m = spMask();
  const esp = reg32(ESP);
  const next = (esp & ~m) | ((esp + (sz == 2 ? 4 : 2)) & m);
  loadSegment(s, v & 0xFFFF);
  if (aborted()) return;
  setReg32(ESP, next);
  if (s == SEG_SS) inhibitInterrupts();
}

export function daaOp(): void { setReg8(0, daa(reg8(0))); }
export function dasOp(): void { setReg8(0, das(reg8(0))); }
export function aaaOp(subtract: bool): void { setReg16(EAX, asciiAdjust(reg16(EAX), subtract)); }

// ---- 40-5F: register INC, DEC, PUSH, POP ----
@inline export function incReg(r: u32, sz: u32): void { setRegSz(r, sz, inc(sz, regSz(r, sz))); }
@inline export function decReg(r: u32, sz: u32): void { setRegSz(r, sz, dec(sz, regSz(r, sz))); }
// PUSH ESP pushes the value before the push.
@inline export function pushReg(r: u32, sz: u32): void { push(sz, reg32(r)); }
@inline export function popReg(r: u32, sz: u32): void {
  const v = pop(sz);
  if (aborted()) return;
  setRegSz(r, sz, v); // POP ESP: the popped value wins over the increment
}

// ---- 60-6F ----
export function pusha(rec: u32): void {
  const sz: u32 = o32(rec) ? 2 : 1;
  const bytes: u32 = sz == 2 ? 4 : 2;
  const sp = getSP();
  const esp = reg32(ESP); // the whole ESP is pushed (its low word by PUSHA), whatever the stack size
  // check the whole frame first: PUSHA either writes all eight or nothing
  segLinear(SEG_SS, (sp - 8 * bytes) & spMask(), bytes, true);
  segLinear(SEG_SS, (sp - bytes) & spMask(), bytes, true);
  if (aborted()) return;
  for (let r: u32 = 0; r < 8; r++) {
    const v = r == ESP ? esp : reg32(r);
    writeStack(sp - (r + 1) * bytes, sz, v);
  }
  if (aborted()) return;
  setSP(sp - 8 * bytes);
}

export function popa(rec: u32): void {
  const sz: u32 = o32(rec) ? 2 : 1;
  const bytes: u32 = sz == 2 ? 4 : 2;
  const base = getSP(); // read all eight before writing any
  for (let r: i32 = 7; r >= 0; r--) {
    const v = peek(sz, (7 - <u32>r) * bytes);
    if (aborted()) return;
    store<u32>(POPA_TMP + (<u32>r << 2), v);
  }
  for (let r: u32 = 0; r < 8; r++) {
    if (r == ESP) continue; // the saved ESP is discarded
    setRegSz(r, sz, load<u32>(POPA_TMP + (r << 2)));
  }
  setSP(base + 8 * bytes);
}
const POPA_TMP: u32 = SCRATCH;

export function bound(rec: u32): void {
  const sz: u32 = o32(rec) ? 2 : 1;
  const bytes: u32 = sz == 2 ? 4 : 2;
  const lin = effectiveLinear(rec, 2 * bytes, false);
  if (aborted()) return;
  const lo = readSz(lin, sz), hi = readSz(lin + bytes, sz);
  if (aborted()) return;
  const v = readG(rec, sz);
  const sv: i32 = sz == 2 ? <i32>v : <i32><i16>v;
  const slo: i32 = sz == 2 ? <i32>lo : <i32><i16>lo;
  const shi: i32 = sz == 2 ? <i32>hi : <i32><i16>hi;
  if (sv < slo || sv > shi) raise(BR, 0, false);
}

// Protected mode only (the table's mode column).
// The destination is written only when its RPL changes: a read-only operand
// faults only then.
export function arpl(rec: u32): void {
  const d = readE(rec, 1);
  if (aborted()) return;
  const s = readG(rec, 1);
  const f = getFlags();
  if ((d & 3) < (s & 3)) {
    writeE(rec, 1, (d & ~3) | (s & 3));
    if (aborted()) return;
    setFlagsRaw(f | ZF);
  } else setFlagsRaw(f & ~ZF);
}

export function imul3(rec: u32, b: u32): void {
  const sz: u32 = o32(rec) ? 2 : 1;
  const a = readE(rec, sz);
  if (aborted()) return;
  writeG(rec, sz, imulTrunc(sz, a, b));
}

// ---- 70-7F, 0F 80-8F: Jcc ----
@inline export function jcc(rec: u32, cc: u32, disp: u32, next: u32): void {
  if (condition(cc)) relJump(rec, next, disp);
}
// A Rel branch's displacement, sign-extended (any size: the decoder's R_DISP).
@inline export function relDisp(rec: u32): u32 { return load<u32>(rec + R_DISP); }

// ---- 80-8F ----
// Group 1: E op= imm, the operation from the reg field.
@inline export function grp1(rec: u32, kind: u32, sz: u32, b: u32, mem: bool): void {
  if (mem) { grp1m(rec, kind, sz, b); return; }
  const e = load<u8>(rec + R_RM);
  const r = alu(kind, sz, regSz(e, sz), b);
  if (kind != ALU_CMP) setRegSz(e, sz, r);
}
@inline function grp1m(rec: u32, kind: u32, sz: u32, b: u32): void {
  const a = kind == ALU_CMP ? readM(rec, sz) : readModifyM(rec, sz);
  if (aborted()) return;
  const r = alu(kind, sz, a, b);
  if (kind != ALU_CMP) writeBackM(sz, r);
}

@inline export function testEG(rec: u32, sz: u32, mem: bool): void {
  if (mem) { testEGm(rec, sz); return; }
  logicFlags(sz, regSz(load<u8>(rec + R_RM), sz) & regSz(gReg(rec), sz));
}
@inline function testEGm(rec: u32, sz: u32): void {
  const v = readM(rec, sz);
  if (aborted()) return;
  logicFlags(sz, v & regSz(gReg(rec), sz));
}

export function xchg(rec: u32, sz: u32): void {
  const v = readModify(rec, sz);
  if (aborted()) return;
  const g = readG(rec, sz);
  writeBack(rec, sz, g);
  if (aborted()) return;
  writeG(rec, sz, v);
  // a test-and-set that found the value it stores (a taken spin lock) is a spin-wait, as PAUSE is: yield when asked
  if (v == g && isMem(rec) && load<u32>(ACTIVE + S_PAUSE_EXIT)) requestExit(ExitReason.Pause);
}

@inline export function movEG(rec: u32, sz: u32, mem: bool): void {
  if (mem) movEGm(rec, sz); else setRegSz(load<u8>(rec + R_RM), sz, regSz(gReg(rec), sz));
}
@inline function movEGm(rec: u32, sz: u32): void { writeM(rec, sz, regSz(gReg(rec), sz)); }
@inline export function movGE(rec: u32, sz: u32, mem: bool): void {
  if (mem) { movGEm(rec, sz); return; }
  setRegSz(gReg(rec), sz, regSz(load<u8>(rec + R_RM), sz));
}
@inline function movGEm(rec: u32, sz: u32): void {
  const v = readM(rec, sz);
  if (aborted()) return;
  setRegSz(gReg(rec), sz, v);
}

// MOV Sreg, r/m (not CS: the table makes that #UD).
export function movSreg(rec: u32): void {
  const s = regField(rec);
  const v = readE(rec, 1);
  if (aborted()) return;
  loadSegment(s, v);
  if (aborted()) return;
  if (s == SEG_SS) inhibitInterrupts();
  endBlock();
}

// POP r/m: ESP is incremented before the destination address is formed.
export function popE(rec: u32): void {
  const sz: u32 = o32(rec) ? 2 : 1;
  const old = reg32(ESP);
  const v = pop(sz);
  if (aborted()) return;
  writeE(rec, sz, v);
  if (aborted()) setReg32(ESP, old);
}

// ---- 90-9F ----
// NOP; with F3 PAUSE, which yields the host CPU when the host asked (several vCPUs)
export function nop(rec: u32): void {
  if ((load<u8>(rec + R_ATTR) & Attr.Rep) && load<u32>(ACTIVE + S_PAUSE_EXIT)) requestExit(ExitReason.Pause);
}
@inline export function xchgAx(r: u32, sz: u32): void {
  const t = regSz(EAX, sz);
  setRegSz(EAX, sz, regSz(r, sz));
  setRegSz(r, sz, t);
}

export function cbw(sz: u32): void {
  if (sz == 2) setReg32(EAX, <u32><i32><i16>reg16(EAX)); else setReg16(EAX, <u32><i32><i8>reg8(0));
}
export function cwd(sz: u32): void {
  if (sz == 2) setReg32(EDX, (reg32(EAX) & 0x80000000) ? 0xFFFFFFFF : 0);
  else setReg16(EDX, (reg16(EAX) & 0x8000) ? 0xFFFF : 0);
}

export function pushf(sz: u32): void {
  const f = getFlags();
  if (v86Mode() && (f & IOPL) != IOPL) { raiseGP(0); return; }
  push(sz, sz == 2 ? f & ~(VM | RF) : f);
}

export function popf(sz: u32): void {
  if (v86Mode() && (getFlags() & IOPL) != IOPL) { raiseGP(0); return; }
  const v = peek(sz, 0);
  if (aborted()) return;
  if (!popFlagsValue(v, sz)) return;
  setSP(getSP() + (sz == 2 ? 4 : 2));
  endBlock(); // IF or TF may have changed
}

export function sahf(): void {
  const f = getFlags();
  setFlagsRaw((f & ~0xD5) | (reg8(4) & 0xD5));
}
export function lahf(): void { setReg8(4, (getFlags() & 0xD5) | 2); }

// ---- A0-AF ----
// MOV AL/eAX, moffs
export function movAO(rec: u32, sz: u32): void {
  const lin = segLinear(segOf(rec), load<u32>(rec + R_DISP), bytesOf(sz), false);
  if (aborted()) return;
  const v = readSz(lin, sz);
  if (aborted()) return;
  setRegSz(EAX, sz, v);
}
// MOV moffs, AL/eAX
export function movOA(rec: u32, sz: u32): void {
  const lin = segLinear(segOf(rec), load<u32>(rec + R_DISP), bytesOf(sz), true);
  if (aborted()) return;
  writeSz(lin, sz, regSz(EAX, sz));
}

// ---- C0-CF ----
// Group 2: shifts and rotates; a zero count (mod 32) changes nothing.
// The register forms of the shifts (the common ones) are inlined, one
// straight-line case each; rotates and memory forms are calls.
@inline export function grp2(rec: u32, op: u32, sz: u32, count: u32, mem: bool): void {
  if (mem) grp2m(rec, op, sz, count);
  else if (op >= 4) shiftReg(rec, op, sz, count);
  else grp2r(rec, op, sz, count);
}
@inline function shiftReg(rec: u32, op: u32, sz: u32, count: u32): void {
  if ((count & 31) == 0) return;
  const e = load<u8>(rec + R_RM);
  setRegSz(e, sz, shift(op, sz, regSz(e, sz), count));
}
function grp2r(rec: u32, op: u32, sz: u32, count: u32): void {
  if ((count & 31) == 0) return;
  const e = load<u8>(rec + R_RM);
  setRegSz(e, sz, shift(op, sz, regSz(e, sz), count));
}
function grp2m(rec: u32, op: u32, sz: u32, count: u32): void {
  const v = readModifyM(rec, sz);
  if (aborted()) return;
  if ((count & 31) == 0) return;
  writeBackM(sz, shift(op, sz, v, count));
}

@inline export function retNear(sz: u32, extra: u32): void {
  const v = pop(sz);
  if (aborted()) return;
  if (extra) setSP(getSP() + extra);
  setEip(v);
  jumped();
}

// A far pointer m16:16 or m16:32: the offset at the operand, the selector
// after it. Each part is its own access, and the selector's offset wraps at the
// address size (a real-mode pointer at FFFE takes its selector from 0000).
let farSelector: u32 = 0;
function readFarPointer(rec: u32, sz: u32): u32 {
  const off = effectiveOffset(rec);
  const bytes: u32 = sz == 2 ? 4 : 2;
  const lin = segLinear(segOf(rec), off, bytes, false);
  if (aborted()) return 0;
  const o = readSz(lin, sz);
  if (aborted()) return 0;
  const selLin = segLinear(segOf(rec), (off + bytes) & (a32(rec) ? 0xFFFFFFFF : 0xFFFF), 2, false);
  if (aborted()) return 0;
  farSelector = read16(selLin);
  return o;
}

// LDS LES LSS LFS LGS (memory forms only)
export function loadFarPointer(rec: u32, s: u32): void {
  const sz: u32 = o32(rec) ? 2 : 1;
  const off = readFarPointer(rec, sz);
  if (aborted()) return;
  loadSegment(s, farSelector);
  if (aborted()) return;
  writeG(rec, sz, off);
  if (s == SEG_SS) endBlock();
}

// ENTER size, level (SDM vol. 2): push (E)BP, copy level-1 frame pointers of
// the enclosing frames, push FrameTemp, reserve `size` bytes. Every value is
// read and every slot (and the final stack top) checked through segmentation
// and paging before the first write, so a fault leaves no partial frame.
// FrameTemp is (E)SP after the first push at the operand size (the whole ESP
// for ENTERD, even on a 16-bit stack); the stack pointer moves as SS.B says.
export function enter(rec: u32): void {
  const sz: u32 = o32(rec) ? 2 : 1;
  const bytes: u32 = sz == 2 ? 4 : 2;
  const size = imm(rec) & 0xFFFF;
  const level = load<u32>(rec + R_IMM2) & 31;
  const m = spMask();
  const esp = reg32(ESP);
  const sp0 = esp & m;
  const bp = reg32(EBP);
  for (let i: u32 = 1; i < level; i++) {
    const lin = segLinear(SEG_SS, (bp - i * bytes) & m, bytes, false);
    if (aborted()) return;
    const v = readSz(lin, sz);
    if (aborted()) return;
    store<u32>(ENTER_TMP + (i << 2), v);
  }
  const pushes: u32 = level == 0 ? 1 : level + 1;
  const top = (sp0 - pushes * bytes - size) & m;
  for (let k: u32 = 1; k <= pushes; k++) {
    probeWrite(segLinear(SEG_SS, (sp0 - k * bytes) & m, bytes, true), bytes);
    if (aborted()) return;
  }
  probeWrite(segLinear(SEG_SS, top, bytes, true), bytes);
  if (aborted()) return;
  const frameTemp = (esp & ~m) | ((sp0 - bytes) & m);
  writeStack(sp0 - bytes, sz, bp);
  for (let i: u32 = 1; i < level; i++) writeStack(sp0 - (i + 1) * bytes, sz, load<u32>(ENTER_TMP + (i << 2)));
  if (level > 0) writeStack(sp0 - pushes * bytes, sz, frameTemp);
  if (aborted()) return;
  setRegSz(EBP, sz, frameTemp);
  setSP(top);
}
const ENTER_TMP: u32 = <u32>memory.data(32 * 4); // the copied frame pointers

export function leave(sz: u32): void {
  const m = spMask();
  const bp = reg32(EBP) & m;
  const lin = segLinear(SEG_SS, bp, sz == 2 ? 4 : 2, false);
  if (aborted()) return;
  const v = sz == 2 ? read32(lin) : read16(lin);
  if (aborted()) return;
  setSP(bp + (sz == 2 ? 4 : 2));
  setRegSz(EBP, sz, v);
}

export function softInt(vector: u32, trapLike: bool): void {
  // V86 with IOPL < 3: INT n goes to the monitor as #GP(0)
  if (v86Mode() && (getFlags() & IOPL) != IOPL && !trapLike) { raiseGP(0); return; }
  interrupt(vector, Source.Software, eip());
}
export function into(): void { if (getFlags() & OF) softInt(4, true); }

// ---- D0-DF ----
export function aamOp(base: u32): void {
  if ((base & 0xFF) == 0) { raise(DE, 0, false); return; }
  setReg16(EAX, aam(reg16(EAX), base & 0xFF));
}
export function aadOp(base: u32): void { setReg16(EAX, aad(reg16(EAX), base & 0xFF)); }

export function xlat(rec: u32): void {
  const off = ((a32(rec) ? reg32(EBX) : reg16(EBX)) + reg8(0)) & (a32(rec) ? 0xFFFFFFFF : 0xFFFF);
  const lin = segLinear(segOf(rec), off, 1, false);
  if (aborted()) return;
  const v = read8(lin);
  if (aborted()) return;
  setReg8(0, v);
}

// ---- E0-EF ----
// LOOPNE (0), LOOPE (1), LOOP (2)
export function loop(rec: u32, kind: u32): void {
  const cx = (a32(rec) ? reg32(ECX) : reg16(ECX)) - 1;
  if (a32(rec)) setReg32(ECX, cx); else setReg16(ECX, cx);
  let take = (cx & (a32(rec) ? 0xFFFFFFFF : 0xFFFF)) != 0;
  if (kind == 0) take = take && !(getFlags() & ZF);
  else if (kind == 1) take = take && (getFlags() & ZF) != 0;
  if (take) jumpRel(rec, imm8s(rec));
}
export function jcxz(rec: u32): void {
  if ((a32(rec) ? reg32(ECX) : reg16(ECX)) == 0) jumpRel(rec, imm8s(rec));
}

@inline export function callRel(rec: u32, sz: u32, next: u32): void {
  push(sz, next);
  if (aborted()) return;
  branchRel(rec, next, imm(rec));
}

// ---- F0-FF ----
export function hlt(): void {
  if (!requirePrivilege()) return;
  store<u32>(ACTIVE + S_HALTED, 1);
  requestExit(ExitReason.Hlt);
}

// Group 3
export function testEI(rec: u32, sz: u32): void {
  const v = readE(rec, sz);
  if (aborted()) return;
  logicFlags(sz, v & imm(rec));
}
export function notE(rec: u32, sz: u32): void {
  const v = readModify(rec, sz);
  if (aborted()) return;
  writeBack(rec, sz, ~v & sizeMask(sz));
}
export function negE(rec: u32, sz: u32): void {
  const v = readModify(rec, sz);
  if (aborted()) return;
  writeBack(rec, sz, neg(sz, v));
}
export function mulE(rec: u32, sz: u32, signed: bool): void {
  const v = readE(rec, sz);
  if (aborted()) return;
  multiply(sz, v, signed);
}
export function divE(rec: u32, sz: u32, signed: bool): void {
  const v = readE(rec, sz);
  if (aborted()) return;
  divide(sz, v, signed);
}

// CLI/STI: allowed when CPL <= IOPL (V86: IOPL must be 3).
function ifAllowed(): bool {
  if (!protectedMode()) return true;
  const iopl = (getFlags() & IOPL) >> 12;
  const level: u32 = v86Mode() ? 3 : cpl();
  if (level > iopl) { raiseGP(0); return false; }
  return true;
}
export function cli(): void { if (ifAllowed()) setFlagsRaw(getFlags() & ~IF); }
// STI: interrupts wait one more instruction
export function sti(): void {
  if (!ifAllowed()) return;
  const f = getFlags();
  if (!(f & IF)) inhibitInterrupts();
  setFlagsRaw(f | IF);
  endBlock();
}

function inhibitInterrupts(): void { store<u32>(ACTIVE + S_SHADOW, 1); endBlock(); }

// Groups 4 and 5: INC/DEC r/m
// INC/DEC: the register form inlined, the memory form a call.
@inline export function incE(rec: u32, sz: u32, mem: bool): void {
  if (mem) { incM(rec, sz); return; }
  const e = load<u8>(rec + R_RM);
  setRegSz(e, sz, inc(sz, regSz(e, sz)));
}
@inline export function decE(rec: u32, sz: u32, mem: bool): void {
  if (mem) { decM(rec, sz); return; }
  const e = load<u8>(rec + R_RM);
  setRegSz(e, sz, dec(sz, regSz(e, sz)));
}
@inline function incM(rec: u32, sz: u32): void {
  const v = readModifyM(rec, sz);
  if (aborted()) return;
  writeBackM(sz, inc(sz, v));
}
@inline function decM(rec: u32, sz: u32): void {
  const v = readModifyM(rec, sz);
  if (aborted()) return;
  writeBackM(sz, dec(sz, v));
}
export function callNearE(rec: u32, sz: u32): void {
  const t = readE(rec, sz);
  if (aborted()) return;
  push(sz, eip());
  if (aborted()) return;
  setEip(t & ipMask(rec));
  jumped();
}
export function jmpNearE(rec: u32, sz: u32): void {
  const t = readE(rec, sz);
  if (aborted()) return;
  setEip(t & ipMask(rec));
  jumped();
}
// CALL/JMP far m16:16/32 (memory forms only)
export function farE(rec: u32, sz: u32, call: bool): void {
  const o = readFarPointer(rec, sz);
  if (aborted()) return;
  const sel = farSelector;
  if (call) callFar(sel, o, sz, eip()); else jmpFar(sel, o);
}
export function pushE(rec: u32, sz: u32): void {
  const v = readE(rec, sz);
  if (aborted()) return;
  push(sz, v);
}

// ---- 0F 40-4F: CMOVcc reads its source even when the condition is false ----
@inline export function cmov(rec: u32, cc: u32, sz: u32): void {
  const v = readE(rec, sz);
  if (aborted()) return;
  if (condition(cc)) writeG(rec, sz, v);
  else if (sz == 2) setReg32(regField(rec), reg32(regField(rec)));
}

// ---- 0F A0-AF ----
export function shiftDouble(rec: u32, left: bool, count: u32): void {
  const sz: u32 = o32(rec) ? 2 : 1;
  const v = readModify(rec, sz);
  if (aborted()) return;
  if ((count & 31) == 0) return;
  writeBack(rec, sz, doubleShift(left, sz, v, readG(rec, sz), count));
}

export function imul2(rec: u32): void {
  const sz: u32 = o32(rec) ? 2 : 1;
  const v = readE(rec, sz);
  if (aborted()) return;
  writeG(rec, sz, imulTrunc(sz, readG(rec, sz), v));
}

// BT BTS BTR BTC (kind 0-3). A register bit offset reaches beyond the operand in memory.
export function bitOp(rec: u32, kind: u32, offset: u32, fromReg: bool): void {
  const sz: u32 = o32(rec) ? 2 : 1;
  const bits: u32 = 8 << sz;
  let bit: u32;
  let v: u32;
  let lin: u32 = 0;
  if (!isMem(rec)) {
    bit = offset & (bits - 1);
    v = regSz(rmField(rec), sz);
  } else {
    let off = effectiveOffset(rec);
    if (fromReg) {
      const sOff: i32 = sz == 2 ? <i32>offset : <i32><i16>offset;
      off += <u32>((sOff >> (sz == 2 ? 5 : 4)) * <i32>(bits >> 3));
      if (!a32(rec)) off &= 0xFFFF;
      bit = offset & (bits - 1);
    } else bit = offset & (bits - 1);
    lin = segLinear(segOf(rec), off, bits >> 3, kind != 0);
    if (aborted()) return;
    v = readSz(lin, sz);
    if (aborted()) return;
  }
  const cf = (v >> bit) & 1;
  let nv = v;
  if (kind == 1) nv = v | (1 << bit);
  else if (kind == 2) nv = v & ~(1 << bit);
  else if (kind == 3) nv = v ^ (1 << bit);
  if (kind != 0) {
    if (isMem(rec)) writeSz(lin, sz, nv); else setRegSz(rmField(rec), sz, nv);
    if (aborted()) return;
  }
  const f = getFlags();
  setFlagsRaw((f & ~CF) | cf);
}

// ---- 0F B0-BF ----
export function cmpxchg(rec: u32, sz: u32): void {
  const d = readModify(rec, sz);
  if (aborted()) return;
  const a = regSz(EAX, sz);
  alu(ALU_CMP, sz, a, d);
  if ((a & sizeMask(sz)) == (d & sizeMask(sz))) {
    writeBack(rec, sz, readG(rec, sz));
  } else {
    writeBack(rec, sz, d); // the destination is always written
    if (aborted()) return;
    setRegSz(EAX, sz, d);
  }
}

// MOVZX / MOVSX from a byte (from 0) or word (from 1)
@inline export function movx(rec: u32, from: u32, sz: u32, signed: bool): void {
  const v = readE(rec, from);
  if (aborted()) return;
  const x: u32 = signed ? (from == 0 ? <u32><i32><i8>v : <u32><i32><i16>v) : v;
  writeG(rec, sz, x);
}

export function bitScan(rec: u32, reverse: bool): void {
  const sz: u32 = o32(rec) ? 2 : 1;
  const v = readE(rec, sz) & sizeMask(sz);
  if (aborted()) return;
  const f = getFlags();
  if (v == 0) { setFlagsRaw(f | ZF); return; } // destination unchanged
  const r: u32 = reverse ? 31 - clz<u32>(v) : ctz<u32>(v);
  writeG(rec, sz, r);
  setFlagsRaw(f & ~ZF);
}

// ---- 0F C0-CF ----
export function xadd(rec: u32, sz: u32): void {
  const d = readModify(rec, sz);
  if (aborted()) return;
  const s = readG(rec, sz);
  const r = alu(0, sz, d, s);
  // SDM order: SRC <- DEST, then DEST <- sum; with one register as both, the sum wins
  if (!isMem(rec)) { writeG(rec, sz, d); writeBack(rec, sz, r); return; }
  writeBack(rec, sz, r);
  if (aborted()) return;
  writeG(rec, sz, d);
}

// CMPXCHG8B m64 (the table allows only /1 with memory)
export function cmpxchg8b(rec: u32): void {
  const lin = effectiveLinear(rec, 8, true);
  if (aborted()) return;
  const lo = read32(lin), hi = read32(lin + 4);
  if (aborted()) return;
  const f = getFlags();
  if (lo == reg32(EAX) && hi == reg32(EDX)) {
    write32(lin, reg32(EBX)); write32(lin + 4, reg32(ECX));
    if (aborted()) return;
    setFlagsRaw(f | ZF);
  } else {
    write32(lin, lo); write32(lin + 4, hi);
    if (aborted()) return;
    setReg32(EAX, lo); setReg32(EDX, hi);
    setFlagsRaw(f & ~ZF);
  }
}

// BSWAP of a 16-bit register is undefined; P6 clears it
export function bswapReg(r: u32, sz: u32): void {
  if (sz == 2) setReg32(r, bswap<u32>(reg32(r)));
  else setReg16(r, 0);
}

// ---- multiply and divide ----
function multiply(sz: u32, v: u32, signed: bool): void {
  if (sz == 0) {
    const a = reg8(0);
    if (signed) {
      const p = <i32><i8>a * <i32><i8>v;
      setReg16(EAX, <u32>p);
      setMulFlags(<u32>p, 0, p != <i32><i8>p);
    } else {
      const p = a * v;
      setReg16(EAX, p);
      setMulFlags(p, 0, (p & 0xFF00) != 0);
    }
  } else if (sz == 1) {
    const a = reg16(EAX);
    const p: u32 = signed ? <u32>(<i32><i16>a * <i32><i16>v) : a * v;
    setReg16(EAX, p);
    setReg16(EDX, p >> 16);
    const over = signed ? (<i32>p != <i32><i16>p) : (p >> 16) != 0;
    setMulFlags(p, 1, over);
  } else {
    const a = reg32(EAX);
    const p: u64 = signed ? <u64>(<i64><i32>a * <i64><i32>v) : <u64>a * <u64>v;
    setReg32(EAX, <u32>p);
    setReg32(EDX, <u32>(p >> 32));
    const over = signed ? (<i64>p != <i64><i32><u32>p) : (p >> 32) != 0;
    setMulFlags(<u32>p, 2, over);
  }
}

// IMUL r, r/m, imm and IMUL r, r/m: the truncated signed product.
function imulTrunc(sz: u32, a: u32, b: u32): u32 {
  if (sz == 1) {
    const p = <i32><i16>a * <i32><i16>b;
    setMulFlags(<u32>p, 1, p != <i32><i16>p);
    return <u32>p & 0xFFFF;
  }
  const p = <i64><i32>a * <i64><i32>b;
  setMulFlags(<u32>p, 2, p != <i64><i32>p);
  return <u32>p;
}

function divide(sz: u32, d: u32, signed: bool): void {
  if ((d & sizeMask(sz)) == 0) { raise(DE, 0, false); return; }
  if (sz == 0) {
    const n = reg16(EAX);
    if (signed) {
      const q = <i32><i16>n / <i32><i8>d, r = <i32><i16>n % <i32><i8>d;
      if (q > 127 || q < -128) { raise(DE, 0, false); return; }
      setReg16(EAX, ((<u32>r & 0xFF) << 8) | (<u32>q & 0xFF));
    } else {
      const q = n / d, r = n % d;
      if (q > 0xFF) { raise(DE, 0, false); return; }
      setReg16(EAX, (r << 8) | q);
    }
  } else if (sz == 1) {
    const n = (reg16(EDX) << 16) | reg16(EAX);
    if (signed) {
      const q = <i64><i32>n / <i64><i16>d, r = <i64><i32>n % <i64><i16>d;
      if (q > 32767 || q < -32768) { raise(DE, 0, false); return; }
      setReg16(EAX, <u32>q); setReg16(EDX, <u32>r);
    } else {
      const q = n / d, r = n % d;
      if (q > 0xFFFF) { raise(DE, 0, false); return; }
      setReg16(EAX, q); setReg16(EDX, r);
    }
  } else {
    const n: u64 = (<u64>reg32(EDX) << 32) | <u64>reg32(EAX);
    if (signed) {
      const sn = <i64>n, sd = <i64><i32>d;
      if (sn == i64.MIN_VALUE && sd == -1) { raise(DE, 0, false); return; }
      const q = sn / sd, r = sn % sd;
      if (q > 0x7FFFFFFF || q < -0x80000000) { raise(DE, 0, false); return; }
      setReg32(EAX, <u32>q); setReg32(EDX, <u32>r);
    } else {
      const q = n / <u64>d, r = n % <u64>d;
      if (q > 0xFFFFFFFF) { raise(DE, 0, false); return; }
      setReg32(EAX, <u32>q); setReg32(EDX, <u32>r);
    }
  }
}
