// The x87 escape opcodes D8-DF and WAIT: device-not-available checks, pending
// exceptions, then one case per instruction. Register forms are picked by the
// ModRM byte, memory forms by its reg field.
import { ACTIVE, S_FPU_CW, S_FPU_FOP, S_FPU_FIP, S_FPU_FCS, S_FPU_FDP, S_FPU_FDS, SEG_CS } from "../layout";
import { R_OP, R_MODRM } from "../cpu/decode";
import { isMem, o32, effectiveOffset, segOf } from "../cpu/operand";
import { cr0, CR0_EM, CR0_TS, CR0_MP, segSelector, setReg16, EAX, protectedMode, v86Mode } from "../cpu/state";
import { raise, raiseUD, aborted, NM } from "../cpu/fault";
import { read16, read32, write16, write32 } from "../cpu/memory";
import { condition } from "../cpu/flags";
import { insnStart } from "../cpu/context";
import {
  mant, sexp, set80, copy80, setIndefinite, st, isEmpty, setEmpty, setAllEmpty, push, pop, top, setTop,
} from "./stack";
import {
  exc, clearExc, flag, commitExc, pendingError, unmasked, cw, sw, setSw, setCw, setCC, updateSummary, rc,
  IE, DE, OE, UE, SF, BUSY, C0, C1, C2, C3,
} from "./status";
import { fromIeee, toIeee, fromInt, toInt, bcdToInt, intToBcd, bcdHigh } from "./format";
import { arith, sqrt80 } from "./arith";
import { compare, setCompareCC, setCompareFlags, examine, Order } from "./compare";
import { Fn, unary, outOfRange, atan2, ylog2, scale, extract, roundInt, remainder, quotient } from "./transcendental";
import { IMAGE, envSize, saveEnv, loadEnv, saveRegs, loadRegs } from "./environment";
import { operandLinear, read64, write64, writeBytes, readBytes } from "./operand";

const A: u32 = <u32>memory.data(16, 16); // an operand read from memory
const R: u32 = <u32>memory.data(16, 16); // a result before it is committed
const R2: u32 = <u32>memory.data(16, 16);

// FLD1 FLDL2T FLDL2E FLDPI FLDLG2 FLDLN2 FLDZ: significands and exponents, rounded to nearest.
const CONST_MANT: StaticArray<u64> = [
  0x8000000000000000, 0xD49A784BCD1B8AFE, 0xB8AA3B295C17F0BC, 0xC90FDAA22168C235,
  0x9A209A84FBCFF799, 0xB17217F7D1CF79AC, 0,
];
const CONST_EXP: StaticArray<u16> = [0x3FFF, 0x4000, 0x3FFF, 0x4000, 0x3FFD, 0x3FFE, 0];

// ---- the machine side: power-on state, WAIT, the escape entry ----------------
// State at RESET: control word 0x40, registers +0 and valid (tag word 0x5555 as seen).
export function fpuPowerOn(): void { store<u32>(ACTIVE + S_FPU_CW, 0x40); }

function fninit(): void {
  store<u32>(ACTIVE + S_FPU_CW, 0x37F);
  setSw(0);
  setAllEmpty();
  store<u32>(ACTIVE + S_FPU_FOP, 0);
  store<u32>(ACTIVE + S_FPU_FIP, 0); store<u32>(ACTIVE + S_FPU_FCS, 0);
  store<u32>(ACTIVE + S_FPU_FDP, 0); store<u32>(ACTIVE + S_FPU_FDS, 0);
}

// WAIT/FWAIT (9B): #NM when TS and MP are set, then any pending exception.
export function fpuWait(): void {
  if ((cr0() & (CR0_TS | CR0_MP)) == (CR0_TS | CR0_MP)) { raise(NM, 0, false); return; }
  pendingError();
}

// Control instructions neither wait for pending exceptions nor change the
// last-instruction pointers.
function isControl(esc: u32, modrm: u32, mem: bool): bool {
  const reg = (modrm >> 3) & 7;
  if (mem) return (esc == 1 && reg >= 4) || (esc == 5 && (reg == 4 || reg >= 6));
  return (esc == 3 && modrm >= 0xE0 && modrm <= 0xE4) || (esc == 7 && modrm == 0xE0);
}

export function fpuEscape(rec: u32): void {
  if (cr0() & (CR0_EM | CR0_TS)) { raise(NM, 0, false); return; }
  const esc = <u32>load<u16>(rec + R_OP) & 7;
  const modrm = <u32>load<u8>(rec + R_MODRM);
  const mem = isMem(rec);
  if (isControl(esc, modrm, mem)) { control(rec, esc, modrm, mem); return; }
  if (pendingError()) return;
  clearExc();
  // C1 is 0 unless the instruction says otherwise (stack overflow, FXAM, FPREM)
  const before = sw();
  setSw(before & ~C1);
  if (mem) memoryForm(rec, esc, (modrm >> 3) & 7); else registerForm(esc, modrm);
  if (aborted()) { setSw(before); return; }
  // the last non-control instruction, for FNSTENV/FNSAVE and exception handlers
  store<u32>(ACTIVE + S_FPU_FIP, insnStart);
  store<u32>(ACTIVE + S_FPU_FCS, segSelector(SEG_CS));
  store<u32>(ACTIVE + S_FPU_FOP, (esc << 8) | modrm);
  if (mem) {
    store<u32>(ACTIVE + S_FPU_FDP, effectiveOffset(rec));
    store<u32>(ACTIVE + S_FPU_FDS, segSelector(segOf(rec)));
  }
}

// ---- control instructions ----------------------------------------------------
function control(rec: u32, esc: u32, modrm: u32, mem: bool): void {
  if (!mem) {
    switch (modrm) {
      case 0xE2: setSw(sw() & ~(0xFF | BUSY)); return;     // FNCLEX
      case 0xE3: fninit(); return;                          // FNINIT
      case 0xE0: if (esc == 7) setReg16(EAX, sw()); return; // FNSTSW AX (DB E0: FENI, a no-op)
      default: return;                                      // FDISI, FSETPM: no-ops since the 387
    }
  }
  const reg = (modrm >> 3) & 7;
  const big = o32(rec);
  const real = !protectedMode() || v86Mode();
  switch ((esc << 3) | reg) {
    case 0x0D: { // FLDCW
      const lin = operandLinear(rec, 2, false);
      if (aborted()) return;
      const v = read16(lin);
      if (aborted()) return;
      setCw(v);
      updateSummary();
      return;
    }
    case 0x0F: case 0x2F: { // FNSTCW, FNSTSW m16
      const lin = operandLinear(rec, 2, true);
      if (aborted()) return;
      write16(lin, reg == 7 && esc == 1 ? cw() : sw());
      return;
    }
    case 0x0E: case 0x2E: { // FNSTENV, FNSAVE
      const save = esc == 5;
      const size = envSize(big) + (save ? 80 : 0);
      const lin = operandLinear(rec, size, true);
      if (aborted()) return;
      const env = saveEnv(big, real);
      if (save) saveRegs(env);
      writeBytes(lin, IMAGE, size);
      if (aborted()) return;
      if (save) fninit();
      else store<u32>(ACTIVE + S_FPU_CW, cw() | 0x3F); // FNSTENV masks every exception
      return;
    }
    default: { // 0x0C FLDENV, 0x2C FRSTOR
      const restore = esc == 5;
      const size = envSize(big) + (restore ? 80 : 0);
      const lin = operandLinear(rec, size, false);
      if (aborted()) return;
      readBytes(lin, IMAGE, size);
      if (aborted()) return;
      loadEnv(big, real);
      if (restore) loadRegs(envSize(big));
    }
  }
}

// ---- helpers --------------------------------------------------------------------
// Commit `exc`; when allowed, ST(i) = the value at src.
function putST(i: u32, src: u32): bool {
  if (!commitExc()) return false;
  copy80(st(i), src);
  setEmpty(i, false); // a masked stack underflow fills an empty destination
  return true;
}

// An empty operand register: stack underflow (IE with SF, C1 = 0); the masked
// response puts the indefinite NaN in ST(dst).
function underflow(dst: u32): void {
  flag(IE | SF);
  setIndefinite(R);
  putST(dst, R);
}

// Push the value at src; a full stack is an overflow (IE, SF, C1 = 1).
function pushValue(src: u32): void {
  if (!isEmpty(7)) {
    flag(IE | SF | C1);
    if (!commitExc()) return;
    push();
    setIndefinite(st(0));
    return;
  }
  if (!commitExc()) return;
  const m = mant(src), se = sexp(src); // src may be ST(7) itself
  push();
  set80(st(0), m, se);
}

// ST(dst) = a (op) b for the arithmetic groups; reg 2/3 compare instead.
function group(reg: u32, dst: u32, a: u32, b: u32, empty: bool, pops: u32): void {
  if (reg == 2 || reg == 3) {
    let o = Order.Unordered;
    if (empty) flag(IE | SF); else o = compare(a, b, false);
    if (!commitExc()) return;
    setCompareCC(o);
    if (reg == 3) pops++;
  } else {
    if (empty) { flag(IE | SF); setIndefinite(R); } else arith(reg, R, a, b);
    if (!putST(dst, R)) return;
  }
  for (; pops > 0; pops--) pop();
}

// ---- memory forms -------------------------------------------------------------------
function memoryForm(rec: u32, esc: u32, reg: u32): void {
  // the arithmetic groups: D8 m32fp, DA m32int, DC m64fp, DE m16int
  if ((esc & 1) == 0) {
    const bytes: u32 = esc == 0 || esc == 2 ? 4 : (esc == 4 ? 8 : 2);
    const lin = operandLinear(rec, bytes, false);
    if (aborted()) return;
    if (esc == 4) {
      const v = read64(lin);
      if (aborted()) return;
      fromIeee(A, v, 11, 52);
    } else {
      const v = bytes == 4 ? read32(lin) : read16(lin);
      if (aborted()) return;
      if (esc == 0) fromIeee(A, <u64>v, 8, 23);
      else fromInt(A, esc == 2 ? <i64><i32>v : <i64><i16>v);
    }
    group(reg, 0, st(0), A, isEmpty(0), 0);
    return;
  }
  switch ((esc << 3) | reg) {
    case 0x08: loadMem(rec, 4, 0); return;  // FLD m32fp
    case 0x18: loadMem(rec, 4, 1); return;  // FILD m32int
    case 0x1D: loadMem(rec, 10, 2); return; // FLD m80fp
    case 0x28: loadMem(rec, 8, 3); return;  // FLD m64fp
    case 0x38: loadMem(rec, 2, 4); return;  // FILD m16int
    case 0x3C: loadMem(rec, 10, 5); return; // FBLD m80bcd
    case 0x3D: loadMem(rec, 8, 6); return;  // FILD m64int
    case 0x0A: case 0x0B: storeMem(rec, 4, 0, reg == 3); return;  // FST/FSTP m32fp
    case 0x1A: case 0x1B: storeMem(rec, 4, 1, reg == 3); return;  // FIST/FISTP m32int
    case 0x1F: storeMem(rec, 10, 2, true); return;                // FSTP m80fp
    case 0x2A: case 0x2B: storeMem(rec, 8, 3, reg == 3); return;  // FST/FSTP m64fp
    case 0x3A: case 0x3B: storeMem(rec, 2, 4, reg == 3); return;  // FIST/FISTP m16int
    case 0x3E: storeMem(rec, 10, 5, true); return;                // FBSTP m80bcd
    case 0x3F: storeMem(rec, 8, 6, true); return;                 // FISTP m64int
    default: raiseUD(); // FISTTP (SSE3) and the undefined forms
  }
}

// Memory formats: 0 m32fp, 1 m32int, 2 m80fp, 3 m64fp, 4 m16int, 5 m80bcd, 6 m64int.
function loadMem(rec: u32, bytes: u32, fmt: u32): void {
  const lin = operandLinear(rec, bytes, false);
  if (aborted()) return;
  const lo = bytes == 2 ? <u64>read16(lin) : (bytes == 4 ? <u64>read32(lin) : read64(lin));
  const hi = bytes == 10 ? read16(lin + 8) : 0;
  if (aborted()) return;
  switch (fmt) {
    case 0: fromIeee(A, lo, 8, 23); break;
    case 1: fromInt(A, <i64><i32><u32>lo); break;
    case 2: set80(A, lo, hi); break;
    case 3: fromIeee(A, lo, 11, 52); break;
    case 4: fromInt(A, <i64><i16><u32>lo); break;
    case 5: fromInt(A, bcdToInt(lo, hi)); break;
    default: fromInt(A, <i64>lo);
  }
  pushValue(A);
}

function storeMem(rec: u32, bytes: u32, fmt: u32, popAfter: bool): void {
  const lin = operandLinear(rec, bytes, true);
  if (aborted()) return;
  let src = st(0);
  if (isEmpty(0)) { flag(IE | SF); setIndefinite(R); src = R; }
  const r = rc();
  let v: u64 = 0;
  let hi: u32 = 0;
  switch (fmt) {
    case 0: v = toIeee(src, 8, 23, r); break;
    case 1: v = <u64>toInt(src, 32, r); break;
    case 2: v = mant(src); hi = sexp(src); break;
    case 3: v = toIeee(src, 11, 52, r); break;
    case 4: v = <u64>toInt(src, 16, r); break;
    case 5: {
      const n = toInt(src, 64, r);
      if ((exc & IE) == 0 && (n >= 1000000000000000000 || n <= -1000000000000000000)) flag(IE);
      if (exc & IE) { v = 0; hi = 0xFFFF; v = <u64>0xC0 << 56; } // the BCD indefinite
      else { v = intToBcd(n); hi = bcdHigh | (n < 0 ? 0x8000 : 0); }
      break;
    }
    default: v = <u64>toInt(src, 64, r);
  }
  // a memory destination is left alone by unmasked invalid, overflow or underflow
  if (unmasked(exc & (IE | DE | OE | UE))) { commitExc(); return; }
  if (bytes == 2) write16(lin, <u32>v);
  else if (bytes == 4) write32(lin, <u32>v);
  else write64(lin, v);
  if (bytes == 10) write16(lin + 8, hi);
  if (aborted()) return;
  commitExc();
  if (popAfter) pop();
}

// ---- register forms -------------------------------------------------------------------
function registerForm(esc: u32, modrm: u32): void {
  const reg = (modrm >> 3) & 7;
  const i = modrm & 7;
  switch (esc) {
    case 0: group(reg, 0, st(0), st(i), isEmpty(0) || isEmpty(i), 0); return;
    case 4: case 6: { // ST(i) = ST(i) op ST(0): the SUB/SUBR and DIV/DIVR encodings swap
      if (esc == 6 && reg == 3 && i != 1) { raiseUD(); return; }
      const r = reg >= 4 ? reg ^ 1 : reg;
      const pops: u32 = esc == 6 ? 1 : 0;
      if (r == 2 || r == 3) group(esc == 6 && reg == 3 ? 3 : r, 0, st(0), st(i), isEmpty(0) || isEmpty(i), esc == 6 && reg == 3 ? 1 : 0);
      else group(r, i, st(i), st(0), isEmpty(0) || isEmpty(i), pops);
      return;
    }
    case 1: d9(reg, i, modrm); return;
    case 2: case 3: {
      if (reg < 4) { fcmov(esc, reg, i); return; }
      if (esc == 2 && modrm == 0xE9) { ucompare(1, 2, false); return; } // FUCOMPP
      if (esc == 3 && reg == 5) { ucompare(i, 0, true); return; }       // FUCOMI
      if (esc == 3 && reg == 6) { compareEflags(i, false, 0); return; } // FCOMI
      raiseUD();
      return;
    }
    case 5: {
      switch (reg) {
        case 0: setEmpty(i, true); return;         // FFREE
        case 1: fxch(i); return;                   // (FXCH alias)
        case 2: case 3: fst(i, reg == 3); return;  // FST/FSTP ST(i)
        case 4: case 5: ucompare(i, reg == 5 ? 1 : 0, false); return; // FUCOM/FUCOMP
        default: raiseUD(); return;
      }
    }
    default: { // DF
      switch (reg) {
        case 0: setEmpty(i, true); pop(); return;  // FFREEP
        case 1: fxch(i); return;
        case 2: case 3: fst(i, true); return;      // (FSTP aliases)
        case 5: ucompare(i, 1, true); return;      // FUCOMIP
        case 6: compareEflags(i, false, 1); return; // FCOMIP
        default: raiseUD(); return;
      }
    }
  }
}

// FUCOM family: quiet compare of ST(0) with ST(i); `eflags` for FUCOMI(P).
function ucompare(i: u32, pops: u32, eflags: bool): void {
  if (eflags) { compareEflags(i, true, pops); return; }
  let o = Order.Unordered;
  if (isEmpty(0) || isEmpty(i)) flag(IE | SF); else o = compare(st(0), st(i), true);
  if (!commitExc()) return;
  setCompareCC(o);
  for (; pops > 0; pops--) pop();
}

function compareEflags(i: u32, quiet: bool, pops: u32): void {
  let o = Order.Unordered;
  if (isEmpty(0) || isEmpty(i)) flag(IE | SF); else o = compare(st(0), st(i), quiet);
  if (!commitExc()) return;
  setCompareFlags(o);
  if (pops) pop();
}

// FCMOVcc: DA = B E BE U, DB = NB NE NBE NU (as Jcc condition codes).
function fcmov(esc: u32, reg: u32, i: u32): void {
  const cc: u32 = ((reg & 3) == 3 ? 0xA : 2 + ((reg & 3) << 1)) | (esc == 3 ? 1 : 0);
  if (isEmpty(0) || isEmpty(i)) { underflow(0); return; }
  if (condition(cc)) copy80(st(0), st(i));
}

function fxch(i: u32): void {
  if (isEmpty(0) || isEmpty(i)) {
    flag(IE | SF);
    if (!commitExc()) return;
    if (isEmpty(0)) { setIndefinite(st(0)); setEmpty(0, false); }
    if (isEmpty(i)) { setIndefinite(st(i)); setEmpty(i, false); }
  }
  copy80(R, st(0));
  copy80(st(0), st(i));
  copy80(st(i), R);
  setCC(sw() & (C0 | C2 | C3)); // C1 = 0
}

function fst(i: u32, popAfter: bool): void {
  if (isEmpty(0)) {
    flag(IE | SF);
    if (!commitExc()) return;
    setIndefinite(st(i));
  } else copy80(st(i), st(0));
  setEmpty(i, false);
  if (popAfter) pop();
}

function d9(reg: u32, i: u32, modrm: u32): void {
  switch (reg) {
    case 0: { // FLD ST(i)
      if (isEmpty(i)) { flag(IE | SF); setIndefinite(A); } else copy80(A, st(i));
      pushValue(A);
      return;
    }
    case 1: fxch(i); return;
    case 2: if (i != 0) raiseUD(); return; // FNOP
    case 3: fst(i, true); return;          // (FSTP alias)
    case 4: {
      if (i == 2 || i == 3 || i >= 6) { raiseUD(); return; }
      if (i == 5) { examine(st(0), isEmpty(0)); return; } // FXAM
      if (isEmpty(0)) { underflow(0); return; }
      if (i == 4) { // FTST
        set80(R, 0, 0);
        const o = compare(st(0), R, false);
        if (commitExc()) setCompareCC(o);
        return;
      }
      const a = st(0); // FCHS, FABS
      set80(a, mant(a), i == 0 ? sexp(a) ^ 0x8000 : sexp(a) & 0x7FFF);
      setCC(sw() & (C0 | C2 | C3));
      return;
    }
    case 5: { // constants
      if (i == 7) { raiseUD(); return; }
      set80(A, unchecked(CONST_MANT[i]), <u32>unchecked(CONST_EXP[i]));
      pushValue(A);
      return;
    }
    default: func(modrm);
  }
}

// D9 F0-FF.
function func(modrm: u32): void {
  switch (modrm) {
    case 0xF6: setTop(top() - 1); setCC(sw() & (C0 | C2 | C3)); return; // FDECSTP
    case 0xF7: setTop(top() + 1); setCC(sw() & (C0 | C2 | C3)); return; // FINCSTP
    default: break;
  }
  if (isEmpty(0)) { underflow(0); return; }
  const a = st(0);
  switch (modrm) {
    case 0xF0: unary(Fn.F2xm1, R, a); putST(0, R); return;
    case 0xFA: sqrt80(R, a); putST(0, R); return;
    case 0xFC: roundInt(R, a); putST(0, R); return;
    case 0xFE: case 0xFF: case 0xF2: case 0xFB: trig(modrm, a); return;
    case 0xF4: { // FXTRACT
      if (!isEmpty(7)) { pushValue(R); return; } // overflow
      extract(R, R2, a);
      if (!putST(0, R)) return;
      push();
      copy80(st(0), R2);
      return;
    }
    default: break;
  }
  // two operands: ST(0) and ST(1)
  if (isEmpty(1)) { underflow(modrm == 0xF1 || modrm == 0xF3 || modrm == 0xF9 ? 1 : 0); return; }
  const b = st(1);
  switch (modrm) {
    case 0xF1: case 0xF9: ylog2(R, b, a, modrm == 0xF9); if (putST(1, R)) pop(); return; // FYL2X, FYL2XP1
    case 0xF3: atan2(R, b, a); if (putST(1, R)) pop(); return;                          // FPATAN
    case 0xFD: scale(R, a, b); putST(0, R); return;                                      // FSCALE
    default: { // F5 FPREM1, F8 FPREM
      remainder(R, a, b, modrm == 0xF5);
      if (!putST(0, R)) return;
      const q = quotient;
      setCC(((q & 4) ? C0 : 0) | ((q & 2) ? C3 : 0) | ((q & 1) ? C1 : 0)); // C0 C3 C1 = Q2 Q1 Q0
    }
  }
}

// FSIN, FCOS (replace ST(0)), FPTAN, FSINCOS (and push): operands beyond 2^63 set C2.
function trig(modrm: u32, a: u32): void {
  if (outOfRange(a)) { setCC((sw() & (C0 | C3)) | C2); return; }
  const pushes = modrm == 0xF2 || modrm == 0xFB;
  if (pushes && !isEmpty(7)) { pushValue(R); return; } // overflow
  unary(modrm == 0xFF ? Fn.Cos : (modrm == 0xF2 ? Fn.Tan : Fn.Sin), R, a);
  if (modrm == 0xFB) unary(Fn.Cos, R2, a);
  else set80(R2, 0x8000000000000000, 0x3FFF); // FPTAN pushes 1.0
  if (!putST(0, R)) return;
  setCC(sw() & (C0 | C3));
  if (pushes) { push(); copy80(st(0), R2); }
}
