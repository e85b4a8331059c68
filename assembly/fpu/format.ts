// Conversions between the 80-bit register format and the memory formats:
// IEEE single and double, 16/32/64-bit integers, 18-digit packed BCD. Loads
// are exact; stores round by the control word's RC and raise the exceptions
// the manuals list (invalid, overflow, underflow, precision).
import { mant, sexp, set80 } from "./stack";
import { flag, IE, DE, OE, UE, PE } from "./status";

export const enum Kind { Zero, Normal, Denormal, Inf, NaN, Unsupported }

// Classify an 80-bit value. Unnormals, pseudo-infinities and pseudo-NaNs
// (exponent set, integer bit clear) are unsupported: invalid as operands.
export function kindOf(a: u32): Kind {
  const e = sexp(a) & 0x7FFF;
  const m = mant(a);
  if (e == 0) return m == 0 ? Kind.Zero : Kind.Denormal;
  if ((m >> 63) == 0) return Kind.Unsupported;
  if (e == 0x7FFF) return (m << 1) == 0 ? Kind.Inf : Kind.NaN;
  return Kind.Normal;
}
@inline export function signOf(a: u32): u32 { return sexp(a) >> 15; }
@inline export function isSignaling(a: u32): bool { return ((mant(a) >> 62) & 1) == 0; }

// Exponent (unbiased, of bit 63) after normalizing: the significand goes to `normMant`.
export let normMant: u64 = 0;
export function normalize(a: u32): i32 {
  let m = mant(a);
  let e = <i32>(sexp(a) & 0x7FFF);
  if (e == 0) { // denormal: the exponent is that of 1, without the integer bit
    const lz = <i32>clz(m);
    m <<= <u64>lz;
    e = 1 - lz;
  }
  normMant = m;
  return e - 16383;
}

// ---- rounding --------------------------------------------------------------
export let inexact: bool = false;
// m >> shift, rounded by rc (0 nearest even, 1 down, 2 up, 3 toward zero)
// for a value of the given sign; sets `inexact`.
export function roundShift(m: u64, shift: u32, sign: u32, rc: u32): u64 {
  let kept: u64, rem: u64, half: u64;
  if (shift == 0) { inexact = false; return m; }
  if (shift < 64) { kept = m >> shift; rem = m & ((<u64>1 << shift) - 1); half = <u64>1 << (shift - 1); }
  else if (shift == 64) { kept = 0; rem = m; half = <u64>1 << 63; }
  else { kept = 0; rem = m != 0 ? 1 : 0; half = <u64>1 << 63; } // below one half
  inexact = rem != 0;
  if (!inexact) return kept;
  let up = false;
  switch (rc) {
    case 0: up = rem > half || (rem == half && (kept & 1) != 0); break;
    case 1: up = sign != 0; break;
    case 2: up = sign == 0; break;
    default: up = false;
  }
  return up ? kept + 1 : kept;
}

// ---- IEEE single / double ------------------------------------------------------
// Load an IEEE value with `expBits` exponent and `fracBits` fraction bits.
export function fromIeee(dst: u32, bits: u64, expBits: u32, fracBits: u32): void {
  const emax: u32 = (1 << expBits) - 1;
  const bias: i32 = <i32>(emax >> 1);
  const s: u32 = <u32>(bits >> (expBits + fracBits)) << 15;
  const e = <u32>(bits >> fracBits) & emax;
  const frac = bits & ((<u64>1 << fracBits) - 1);
  if (e == emax) {
    let m = (<u64>1 << 63) | (frac << (63 - fracBits));
    if (frac != 0 && (frac >> (fracBits - 1)) == 0) { flag(IE); m |= <u64>1 << 62; } // SNaN: quieted
    set80(dst, m, s | 0x7FFF);
    return;
  }
  if (e == 0) {
    if (frac == 0) { set80(dst, 0, s); return; }
    flag(DE);
    const lz = <i32>clz(frac);
    set80(dst, frac << <u64>lz, s | <u32>(16383 + 64 - bias - <i32>fracBits - lz));
    return;
  }
  set80(dst, (<u64>1 << 63) | (frac << (63 - fracBits)), s | <u32>(<i32>e - bias + 16383));
}

// Store an 80-bit value as IEEE, rounded by rc.
export function toIeee(src: u32, expBits: u32, fracBits: u32, rc: u32): u64 {
  const emax: u32 = (1 << expBits) - 1;
  const bias: i32 = <i32>(emax >> 1);
  const sign = sexp(src) >> 15;
  const signBits = <u64>sign << (expBits + fracBits);
  const infBits = signBits | (<u64>emax << fracBits);
  const quiet = <u64>1 << (fracBits - 1);
  switch (kindOf(src)) {
    case Kind.Zero: return signBits;
    case Kind.Inf: return infBits;
    case Kind.NaN: {
      if (isSignaling(src)) flag(IE);
      return infBits | quiet | ((mant(src) << 1) >> (64 - fracBits));
    }
    case Kind.Unsupported: flag(IE); return (<u64>1 << (expBits + fracBits)) | (<u64>emax << fracBits) | quiet;
    default: break;
  }
  const e = normalize(src);
  let be = e + bias;          // biased exponent of the result
  let shift = 63 - fracBits;  // bits dropped from the significand
  const tiny = be <= 0;
  if (tiny) { shift += <u32>(1 - be); be = 0; }
  let kept = roundShift(normMant, shift, sign, rc);
  if (inexact) flag(tiny ? PE | UE : PE);
  if (tiny) return signBits | kept; // a carry into the hidden bit gives the smallest normal
  if (kept >> (fracBits + 1)) { kept >>= 1; be++; }
  if (be >= <i32>emax) {
    flag(OE | PE);
    const toInf = rc == 0 || (rc == 1 && sign != 0) || (rc == 2 && sign == 0);
    return toInf ? infBits : (infBits - 1); // or the largest finite value
  }
  return signBits | (<u64>be << fracBits) | (kept & ((<u64>1 << fracBits) - 1));
}

// ---- integers ----------------------------------------------------------------
// An integer value, exactly.
export function fromInt(dst: u32, v: i64): void {
  if (v == 0) { set80(dst, 0, 0); return; }
  const s: u32 = v < 0 ? 0x8000 : 0;
  const m: u64 = v < 0 ? <u64>(-v) : <u64>v;
  const lz = <u32>clz(m);
  set80(dst, m << <u64>lz, s | (16383 + 63 - lz));
}

// The value rounded to an integer by rc; `bits` (16, 32, 64) is the
// destination size. Out of range, NaN or infinity: IE and the integer indefinite.
export function toInt(src: u32, bits: u32, rc: u32): i64 {
  const indefinite: i64 = <i64>(<u64>-1 << <u64>(bits - 1));
  const k = kindOf(src);
  if (k == Kind.Zero) return 0;
  if (k != Kind.Normal && k != Kind.Denormal) { flag(IE); return indefinite; }
  const sign = sexp(src) >> 15;
  const e = normalize(src);
  if (e > 63) { flag(IE); return indefinite; }
  const mag = roundShift(normMant, <u32>(63 - e), sign, rc);
  const limit: u64 = (<u64>1 << (bits - 1)) - (sign ? 0 : 1);
  if (mag > limit) { flag(IE); return indefinite; }
  if (inexact) flag(PE);
  return sign ? -<i64>mag : <i64>mag;
}

// ---- packed BCD: 18 digits, sign in bit 7 of byte 9 ---------------------------------
export function bcdToInt(lo: u64, hi: u32): i64 {
  let v: i64 = 0;
  for (let i: i32 = 8; i >= 0; i--) {
    const b = <u32>((i == 8 ? <u64>(hi & 0xFF) : lo >> <u64>(i * 8)) & 0xFF);
    v = v * 100 + <i64>((b >> 4) * 10 + (b & 15));
  }
  return (hi & 0x8000) ? -v : v;
}
// Digits of |v| (< 10^18) as BCD bytes 0-7 (low) and byte 8 (returned in bcdHigh).
export let bcdHigh: u32 = 0;
export function intToBcd(v: i64): u64 {
  let m: u64 = v < 0 ? <u64>(-v) : <u64>v;
  let lo: u64 = 0;
  for (let i: u64 = 0; i < 8; i++) {
    const d = m % 100; m /= 100;
    lo |= (((d / 10) << 4) | (d % 10)) << (i * 8);
  }
  bcdHigh = <u32>(((m / 10) << 4) | (m % 10));
  return lo;
}
