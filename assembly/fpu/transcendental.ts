// The x87 functions: trigonometry, logarithms and powers computed in f64
// (with the operand's full exponent range where the function allows it), and
// the exact ones: FSCALE, FXTRACT, FRNDINT, FPREM, FPREM1.
import { mant, sexp, set80, copy80, setIndefinite } from "./stack";
import { Kind, kindOf, signOf, normalize, normMant, roundShift, inexact, fromInt } from "./format";
import { split, splitExp, pack, checkOperands } from "./arith";
import { flag, rc, IE, ZE, PE } from "./status";

// The f64 nearest an 80-bit value (infinity or zero beyond the f64 range).
export function toF64(a: u32): f64 {
  const f = split(a);
  const e = splitExp;
  if (e > 1100) return f * Infinity;
  if (e < -1100) return f * 0.0;
  const h = e >> 1;
  return f * reinterpret<f64>(<u64>(1023 + h) << 52) * reinterpret<f64>(<u64>(1023 + e - h) << 52);
}

// FSIN, FCOS, FSINCOS and FPTAN take operands below 2^63 in magnitude;
// beyond that they set C2 and leave the operand alone.
export function outOfRange(a: u32): bool {
  const k = kindOf(a);
  return k != Kind.NaN && k != Kind.Unsupported && k != Kind.Inf && (sexp(a) & 0x7FFF) >= 16383 + 63;
}

export const enum Fn { Sin, Cos, Tan, F2xm1 }

// dst = fn(a) for the one-operand functions.
export function unary(fn: Fn, dst: u32, a: u32): void {
  if (!checkOperands(dst, a, a)) return;
  const k = kindOf(a);
  if (k == Kind.Zero) { if (fn == Fn.Cos) pack(dst, 1.0, 0); else copy80(dst, a); return; }
  if (k == Kind.Inf && fn != Fn.F2xm1) { flag(IE); setIndefinite(dst); return; }
  const x = toF64(a);
  let r: f64;
  switch (fn) {
    case Fn.Sin: r = Math.sin(x); break;
    case Fn.Cos: r = Math.cos(x); break;
    case Fn.Tan: r = Math.tan(x); break;
    default: r = Math.expm1(x * Math.LN2); // 2^x - 1, defined for |x| <= 1
  }
  pack(dst, r, 0);
  if (k != Kind.Inf) flag(PE);
}

// FPATAN: dst = atan(y / x) with the quadrant from both signs.
export function atan2(dst: u32, y: u32, x: u32): void {
  if (!checkOperands(dst, y, x)) return;
  pack(dst, Math.atan2(toF64(y), toF64(x)), 0);
  flag(PE);
}

// FYL2X: dst = y * log2(x); FYL2XP1: dst = y * log2(x + 1).
export function ylog2(dst: u32, y: u32, x: u32, plusOne: bool): void {
  if (!checkOperands(dst, y, x)) return;
  const kx = kindOf(x), ky = kindOf(y);
  let l: f64;
  if (plusOne) {
    l = Math.log1p(toF64(x)) / Math.LN2;
  } else {
    if (kx == Kind.Zero && ky != Kind.Zero && ky != Kind.Inf) flag(ZE);
    if (signOf(x) && kx != Kind.Zero) { flag(IE); setIndefinite(dst); return; }
    const f = split(x); // log2(f * 2^e) = log2(f) + e: the whole exponent range
    l = kx == Kind.Normal || kx == Kind.Denormal ? Math.log2(f) + <f64>splitExp : Math.log2(f);
  }
  const fy = split(y);
  const ey = splitExp;
  const r = fy * l;
  if (isNaN(r)) { flag(IE); setIndefinite(dst); return; }
  pack(dst, r, ky == Kind.Normal || ky == Kind.Denormal ? ey : 0);
  flag(PE);
}

// FSCALE: dst = a * 2^trunc(b), exact while the result stays normal.
export function scale(dst: u32, a: u32, b: u32): void {
  if (!checkOperands(dst, a, b)) return;
  const ka = kindOf(a), kb = kindOf(b);
  if (kb == Kind.Inf) { // 0 * 2^inf and inf * 2^-inf are invalid
    const neg = signOf(b) != 0;
    if ((ka == Kind.Zero && !neg) || (ka == Kind.Inf && neg)) { flag(IE); setIndefinite(dst); return; }
    if (ka == Kind.Zero || ka == Kind.Inf) { copy80(dst, a); return; }
    if (neg) set80(dst, 0, sexp(a) & 0x8000); else set80(dst, <u64>1 << 63, (sexp(a) & 0x8000) | 0x7FFF);
    return;
  }
  if (ka == Kind.Zero || ka == Kind.Inf) { copy80(dst, a); return; }
  let n = Math.trunc(toF64(b));
  if (n > 70000) n = 70000; else if (n < -70000) n = -70000;
  const e = <i32>(sexp(a) & 0x7FFF) + <i32>n;
  if (ka == Kind.Normal && e > 0 && e < 0x7FFF) { set80(dst, mant(a), (sexp(a) & 0x8000) | <u32>e); return; }
  const f = split(a);
  pack(dst, f, splitExp + <i32>n);
}

// FXTRACT: the exponent (as a value) to expDst, the significand (exponent 0) to sigDst.
export function extract(expDst: u32, sigDst: u32, a: u32): void {
  if (!checkOperands(sigDst, a, a)) { copy80(expDst, sigDst); return; }
  const k = kindOf(a);
  if (k == Kind.Zero) { flag(ZE); set80(expDst, <u64>1 << 63, 0xFFFF); copy80(sigDst, a); return; }
  if (k == Kind.Inf) { set80(expDst, <u64>1 << 63, 0x7FFF); copy80(sigDst, a); return; }
  const e = normalize(a);
  const m = normMant;
  const s = sexp(a) & 0x8000;
  fromInt(expDst, <i64>e);
  set80(sigDst, m, s | 16383);
}

// FRNDINT: a rounded to an integer by RC.
export function roundInt(dst: u32, a: u32): void {
  if (!checkOperands(dst, a, a)) return;
  const k = kindOf(a);
  if (k != Kind.Normal && k != Kind.Denormal) { copy80(dst, a); return; }
  const e = normalize(a);
  if (e >= 63) { copy80(dst, a); return; }
  const s = signOf(a);
  const mag = roundShift(normMant, <u32>(63 - e), s, rc());
  if (inexact) flag(PE);
  if (mag == 0) { set80(dst, 0, s << 15); return; }
  fromInt(dst, <i64>mag);
  set80(dst, mant(dst), sexp(dst) | (s << 15));
}

// FPREM (truncating quotient) and FPREM1 (nearest): dst = a - q * b. The
// reduction always completes (C2 = 0); the low three bits of q come back in `quotient`.
export let quotient: u32 = 0;
export function remainder(dst: u32, a: u32, b: u32, nearest: bool): void {
  quotient = 0;
  if (!checkOperands(dst, a, b)) return;
  const ka = kindOf(a), kb = kindOf(b);
  if (ka == Kind.Inf || kb == Kind.Zero) { flag(IE); setIndefinite(dst); return; }
  if (ka == Kind.Zero || kb == Kind.Inf) { copy80(dst, a); return; }
  let fa = Math.abs(split(a)); const ea = splitExp;
  const fb = Math.abs(split(b)); const eb = splitExp;
  let d = ea - eb;
  let q: f64 = 0;
  if (d < -1 || (d == -1 && !nearest)) { copy80(dst, a); return; } // |a| < |b|: quotient 0
  if (d >= 0) {
    // (fa * 2^d) mod fb, in steps small enough for f64; the last step is the
    // largest so the quotient's low bits come from it alone
    let step = d % 900;
    if (step == 0) step = d < 900 ? d : 900;
    for (;;) {
      const x = fa * reinterpret<f64>(<u64>(1023 + step) << 52);
      fa = x % fb;
      q = Math.round((x % (8 * fb) - fa) / fb);
      d -= step;
      if (d == 0) break;
      step = 900;
    }
  } else {
    fa *= 0.5; // d = -1: a at b's scale, then maybe a - b
  }
  let r = fa;
  if (nearest && (r > fb / 2 || (r == fb / 2 && (<u32>q & 1)))) { r -= fb; q += 1; }
  quotient = <u32>q & 7;
  const neg = signOf(a) != 0;
  if (r == 0) { set80(dst, 0, neg ? 0x8000 : 0); return; }
  pack(dst, neg ? -r : r, eb);
}
