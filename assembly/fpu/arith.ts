// x87 arithmetic. Operands keep their full 15-bit exponent range; their
// significands are rounded to 53 bits and combined in f64, so every result is
// the f64-rounded (round-to-nearest) value of the 53-bit operands, stored
// exactly as an 80-bit value. Special operands follow the manuals: NaN
// propagation, invalid operations, zero divide, overflow and underflow.
import { mant, sexp, set80, copy80, setIndefinite } from "./stack";
import { Kind, kindOf, signOf, isSignaling, normalize, normMant, roundShift, inexact } from "./format";
import { flag, unmasked, rc, cw, IE, DE, ZE, OE, UE, PE } from "./status";

export const enum Arith { Add = 0, Mul = 1, Sub = 4, SubR = 5, Div = 6, DivR = 7 }

// 2^n as f64, for |n| < 1023.
@inline function pow2(n: i32): f64 { return reinterpret<f64>(<u64>(1023 + n) << 52); }

// ---- split / pack: an 80-bit value as (f64 in [1, 2], exponent) ------------------
export let splitExp: i32 = 0;
export function split(a: u32): f64 {
  const k = kindOf(a);
  const neg = signOf(a) != 0;
  splitExp = 0;
  if (k == Kind.Zero) return neg ? -0.0 : 0.0;
  if (k == Kind.Inf) return neg ? -Infinity : Infinity;
  splitExp = normalize(a);
  const f = <f64>normMant * pow2(-63);
  return neg ? -f : f;
}

// Store f * 2^e (f from split-domain arithmetic) into dst: overflow and
// underflow are judged on the 15-bit exponent, as the register format has it.
export function pack(dst: u32, f: f64, e: i32): void {
  if (isNaN(f)) { flag(IE); setIndefinite(dst); return; }
  const bits = reinterpret<u64>(f);
  const s: u32 = <u32>(bits >> 63) << 15;
  if (f == 0) { set80(dst, 0, s); return; }
  if (isFinite(f) == false) { set80(dst, <u64>1 << 63, s | 0x7FFF); return; }
  const m: u64 = (<u64>1 << 63) | ((bits & 0xFFFFFFFFFFFFF) << 11);
  let be: i32 = <i32>((bits >> 52) & 0x7FF) - 1023 + e + 16383;
  if (be >= 0x7FFF) {
    flag(OE | PE);
    if (unmasked(OE)) { set80(dst, m, s | <u32>(be - 24576)); return; } // bias-adjusted result
    const r = rc();
    const toInf = r == 0 || (r == 1 && s != 0) || (r == 2 && s == 0);
    if (toInf) set80(dst, <u64>1 << 63, s | 0x7FFF); else set80(dst, 0xFFFFFFFFFFFFFFFF, s | 0x7FFE);
    return;
  }
  if (be <= 0) {
    if (unmasked(UE)) { flag(UE); set80(dst, m, s | <u32>(be + 24576)); return; }
    const d = roundShift(m, <u32>(1 - be), s, rc());
    if (inexact) flag(UE | PE);
    set80(dst, d, s | <u32>(d >> 63)); // rounding up into bit 63 makes it the smallest normal
    return;
  }
  set80(dst, m, s | <u32>be);
}

// Results of FADD FSUB FMUL FDIV FSQRT honour precision control 00 (24-bit
// significands); 10 and 11 both give the f64's 53 bits.
function packResult(dst: u32, f: f64, e: i32): void {
  pack(dst, ((cw() >> 8) & 3) == 0 ? <f64><f32>f : f, e);
}

// ---- NaN propagation ----------------------------------------------------------
// One or both operands are NaN: the result is the quieted NaN (of the two,
// the one with the larger significand). A signaling NaN raises IE.
export function propagateNaN(dst: u32, a: u32, b: u32): void {
  const an = kindOf(a) == Kind.NaN, bn = kindOf(b) == Kind.NaN;
  if ((an && isSignaling(a)) || (bn && isSignaling(b))) flag(IE);
  let src = a;
  if (!an || (bn && (mant(b) << 1) > (mant(a) << 1))) src = b;
  set80(dst, mant(src) | (<u64>1 << 62), sexp(src));
}

// Unsupported formats are invalid operands; NaNs propagate; denormals raise
// DE. Returns false when the result is already decided (in dst).
export function checkOperands(dst: u32, a: u32, b: u32): bool {
  const ka = kindOf(a), kb = kindOf(b);
  if (ka == Kind.Unsupported || kb == Kind.Unsupported) { flag(IE); setIndefinite(dst); return false; }
  if (ka == Kind.NaN || kb == Kind.NaN) { propagateNaN(dst, a, b); return false; }
  if (ka == Kind.Denormal || kb == Kind.Denormal) flag(DE);
  return true;
}

@inline function finiteNonZero(k: Kind): bool { return k == Kind.Normal || k == Kind.Denormal; }

// dst = a op b (dst may be a or b).
export function arith(op: u32, dst: u32, a: u32, b: u32): void {
  if (op == Arith.SubR || op == Arith.DivR) { const t = a; a = b; b = t; op--; }
  if (!checkOperands(dst, a, b)) return;
  const ka = kindOf(a), kb = kindOf(b);
  let fa = split(a); const ea = splitExp;
  let fb = split(b); const eb = splitExp;
  const both = finiteNonZero(ka) && finiteNonZero(kb);
  switch (op) {
    case Arith.Mul: {
      if (!both && isNaN(fa * fb)) { flag(IE); setIndefinite(dst); return; }
      packResult(dst, fa * fb, both ? ea + eb : 0);
      return;
    }
    case Arith.Div: {
      if (kb == Kind.Zero && finiteNonZero(ka)) flag(ZE);
      if (!both && isNaN(fa / fb)) { flag(IE); setIndefinite(dst); return; }
      packResult(dst, fa / fb, both ? ea - eb : 0);
      return;
    }
    default: { // Add, Sub
      if (op == Arith.Sub) fb = -fb;
      if (both) {
        const d = ea - eb;
        // beyond 66 bits apart the smaller one only makes the result inexact
        if (d > 66) { copy80(dst, a); flag(PE); return; }
        if (d < -66) { copy80(dst, b); if (op == Arith.Sub) set80(dst, mant(dst), sexp(dst) ^ 0x8000); flag(PE); return; }
        const r = d >= 0 ? fa + fb * pow2(-d) : fa * pow2(d) + fb;
        if (r == 0) { set80(dst, 0, rc() == 1 ? 0x8000 : 0); return; } // exact cancellation
        packResult(dst, r, d >= 0 ? ea : eb);
        return;
      }
      const flip: u32 = op == Arith.Sub ? 0x8000 : 0;
      if (ka == Kind.Zero && kb == Kind.Zero) { // +0 + -0 is +0 (-0 when rounding down)
        const sa = sexp(a) & 0x8000, sb = (sexp(b) ^ flip) & 0x8000;
        set80(dst, 0, sa == sb ? sa : (rc() == 1 ? 0x8000 : 0));
        return;
      }
      if (ka == Kind.Zero && kb != Kind.Inf) { set80(dst, mant(b), sexp(b) ^ flip); return; }
      if (kb == Kind.Zero && ka != Kind.Inf) { copy80(dst, a); return; }
      const r = fa + fb;
      if (isNaN(r)) { flag(IE); setIndefinite(dst); return; }
      packResult(dst, r, 0);
    }
  }
}

export function sqrt80(dst: u32, a: u32): void {
  if (!checkOperands(dst, a, a)) return;
  const k = kindOf(a);
  if (k == Kind.Zero) { copy80(dst, a); return; }
  if (signOf(a)) { flag(IE); setIndefinite(dst); return; }
  if (k == Kind.Inf) { copy80(dst, a); return; }
  let f = split(a);
  let e = splitExp;
  if (e & 1) { f *= 2; e -= 1; }
  packResult(dst, Math.sqrt(f), e >> 1);
}
