// Integer arithmetic: the eight ALU operations, shifts and rotates, multiply and
// divide, and BCD adjustment, each setting the flags the manuals define.
import { setLazy, setLazyIncDec, setLazyShift, LazyOp, carry, sizeMask, signBit, getFlags, setFlagsRaw, parity } from "./flags";
import { CF, PF, AF, ZF, SF, OF, ARITH_FLAGS } from "./state";
import { ACTIVE, S_EFLAGS } from "../layout";

// ALU operation numbers, as in opcode bits 5:3 and group-1 reg fields.
export const ALU_ADD: u32 = 0;
export const ALU_OR: u32 = 1;
export const ALU_ADC: u32 = 2;
export const ALU_SBB: u32 = 3;
export const ALU_AND: u32 = 4;
export const ALU_SUB: u32 = 5;
export const ALU_XOR: u32 = 6;
export const ALU_CMP: u32 = 7;

// a <op> b at size sz; records the flags and returns the (unmasked) result.
@inline export function alu(kind: u32, sz: u32, a: u32, b: u32): u32 {
  let r: u32;
  switch (kind) {
    case ALU_ADD: r = a + b; setLazy(LazyOp.Add, sz, a, b, r); break;
    case ALU_OR: r = a | b; setLazy(LazyOp.Logic, sz, a, b, r); break;
    case ALU_ADC: {
      const c = carry();
      r = a + b + c;
      setLazy(c ? LazyOp.Adc : LazyOp.Add, sz, a, b, r);
      break;
    }
    case ALU_SBB: {
      const c = carry();
      r = a - b - c;
      setLazy(c ? LazyOp.Sbb : LazyOp.Sub, sz, a, b, r);
      break;
    }
    case ALU_AND: r = a & b; setLazy(LazyOp.Logic, sz, a, b, r); break;
    case ALU_XOR: r = a ^ b; setLazy(LazyOp.Logic, sz, a, b, r); break;
    default: r = a - b; setLazy(LazyOp.Sub, sz, a, b, r); break; // SUB, CMP
  }
  return r & sizeMask(sz);
}

@inline export function inc(sz: u32, a: u32): u32 { const r = a + 1; setLazyIncDec(LazyOp.Inc, sz, a, r); return r & sizeMask(sz); }
@inline export function dec(sz: u32, a: u32): u32 { const r = a - 1; setLazyIncDec(LazyOp.Dec, sz, a, r); return r & sizeMask(sz); }
export function neg(sz: u32, a: u32): u32 { const r = 0 - a; setLazy(LazyOp.Sub, sz, 0, a, r); return r & sizeMask(sz); }

// Write all six arithmetic flags explicitly. The other bits of S_EFLAGS are
// always current (only the arithmetic ones go lazy), so nothing is computed.
function setArithBits(bits: u32): void {
  setFlagsRaw((load<u32>(ACTIVE + S_EFLAGS) & ~ARITH_FLAGS) | bits);
}
function szp(r: u32, sz: u32): u32 {
  let v: u32 = 0;
  if ((r & sizeMask(sz)) == 0) v |= ZF;
  if (r & signBit(sz)) v |= SF;
  if (parity(r)) v |= PF;
  return v;
}

// Shifts and rotates (group 2: reg field = op). Count is masked to 5 bits;
// a zero count changes nothing, not even the flags.
@inline export function shift(op: u32, sz: u32, v: u32, count: u32): u32 {
  const c = count & 31;
  v &= sizeMask(sz);
  if (c == 0) return v;
  return op >= 4 ? shiftLazy(op, sz, v, c) : rotate(op, sz, v, c);
}

// SHL/SHR/SAR by c (1..31) of v (masked to the size): the flags go lazy
// (LazyOp.Shift). For counts past 1, where the manuals leave OF undefined,
// SHL's OF is MSB(result) ^ CF and SHR's the result's top two bits differing
// (so 0); AF is 0 after SHL and 1 after SHR and SAR.
@inline function shiftLazy(op: u32, sz: u32, v: u32, c: u32): u32 {
  const w: u32 = 8 << sz;
  const m = sizeMask(sz);
  const msb = signBit(sz);
  let r: u32, bits: u32;
  if (op == 5) { // SHR
    const cf = c <= w ? (v >> (c - 1)) & 1 : 0;
    r = (v >> c) & m;
    const ovf = ((r & msb) != 0) != ((r & (msb >> 1)) != 0);
    bits = cf | AF | (ovf ? OF : 0);
  } else if (op == 7) { // SAR
    const s: i32 = sz == 2 ? <i32>v : (sz == 1 ? <i32><i16>v : <i32><i8>v);
    r = <u32>(s >> c) & m;
    bits = (<u32>(s >> (c - 1)) & 1) | AF;
  } else { // SHL (/6 is an alias)
    const x: u64 = (<u64>v) << c;
    r = <u32>x & m;
    const cf = <u32>(x >> w) & 1;
    bits = cf | ((((r & msb) != 0) != (cf != 0)) ? OF : 0);
  }
  setLazyShift(sz, bits, r);
  return r;
}

// ROL/ROR/RCL/RCR by c (1..31) of v (masked): CF and OF change, the other
// flags stay.
function rotate(op: u32, sz: u32, v: u32, c: u32): u32 {
  const m = sizeMask(sz);
  const w: u32 = 8 << sz;
  const msb = signBit(sz);
  const f = getFlags();
  let r: u32 = v;
  let cf: u32 = 0;
  let ovf: bool = false;
  switch (op) {
    case 0: { // ROL
      const n = c % w;
      r = n ? ((v << n) | (v >> (w - n))) & m : v;
      cf = r & 1;
      ovf = ((r & msb) != 0) != (cf != 0);
      break;
    }
    case 1: { // ROR
      const n = c % w;
      r = n ? ((v >> n) | (v << (w - n))) & m : v;
      cf = (r & msb) ? 1 : 0;
      ovf = ((r & msb) != 0) != ((r & (msb >> 1)) != 0);
      break;
    }
    case 2: { // RCL: a (w+1)-bit rotate through CF
      const n = c % (w + 1);
      const x: u64 = (<u64>v) | ((<u64>(f & CF)) << w);
      const rot: u64 = n ? ((x << n) | (x >> (w + 1 - n))) : x;
      r = <u32>rot & m;
      cf = <u32>(rot >> w) & 1;
      ovf = ((r & msb) != 0) != (cf != 0);
      break;
    }
    default: { // RCR
      const n = c % (w + 1);
      const x: u64 = (<u64>v) | ((<u64>(f & CF)) << w);
      const rot: u64 = n ? ((x >> n) | (x << (w + 1 - n))) : x;
      r = <u32>rot & m;
      cf = <u32>(rot >> w) & 1;
      ovf = ((r & msb) != 0) != ((r & (msb >> 1)) != 0);
      break;
    }
  }
  setArithBits((f & ARITH_FLAGS & ~(CF | OF)) | cf | (ovf ? OF : 0));
  return r;
}

// SHLD (left) / SHRD: shift dst, filling from src; count masked to 5 bits.
export function doubleShift(left: bool, sz: u32, dst: u32, src: u32, count: u32): u32 {
  const c = count & 31;
  const m = sizeMask(sz);
  dst &= m; src &= m;
  if (c == 0) return dst;
  const w: u32 = 8 << sz;
  const msb = signBit(sz);
  let r: u32, cf: u32;
  if (left) {
    // the bits that enter come from src; for 16-bit counts past 16, dst follows again
    const x: u64 = w == 32 ? ((<u64>dst << 32) | <u64>src) : ((<u64>dst << 32) | (<u64>src << 16) | <u64>dst);
    // dst sits in bits 32 up: the result is bits 32.. of the shifted pattern,
    // CF the last bit that left dst's top (bit 32 + w - c of the pattern)
    const y: u64 = x << c;
    r = <u32>(y >> 32) & m;
    cf = <u32>(x >> (32 + w - c)) & 1;
  } else {
    const x: u64 = w == 32 ? ((<u64>src << 32) | <u64>dst) : ((<u64>dst << 32) | (<u64>src << 16) | <u64>dst);
    const y: u64 = x >> c;
    r = <u32>y & m;
    cf = <u32>(x >> (c - 1)) & 1;
  }
  const ovf = ((r ^ dst) & msb) != 0;
  setArithBits(szp(r, sz) | cf | (ovf ? OF : 0));
  return r;
}

// MUL / IMUL flags: CF = OF = the high half matters.
export function setMulFlags(lo: u32, sz: u32, overflow: bool): void {
  setArithBits(szp(lo, sz) | (overflow ? (CF | OF) : 0));
}

// Flags for TEST-like logic results.
export function logicFlags(sz: u32, r: u32): void { setLazy(LazyOp.Logic, sz, 0, 0, r); }

// ---- BCD ----
export function daa(al: u32): u32 {
  const f = getFlags();
  const oldAl = al, oldCf = f & CF;
  let cf: u32 = 0, af: u32 = 0;
  if ((al & 0xF) > 9 || (f & AF)) { if (al + 6 > 0xFF) cf = CF; al = (al + 6) & 0xFF; af = AF; }
  if (oldAl > 0x99 || oldCf) { al = (al + 0x60) & 0xFF; cf = CF; }
  setArithBits(szp(al, 0) | cf | af);
  return al;
}

export function das(al: u32): u32 {
  const f = getFlags();
  const oldAl = al, oldCf = f & CF;
  let cf: u32 = 0, af: u32 = 0;
  if ((al & 0xF) > 9 || (f & AF)) { if (al < 6) cf = CF; al = (al - 6) & 0xFF; af = AF; }
  if (oldAl > 0x99 || oldCf) { al = (al - 0x60) & 0xFF; cf = CF; }
  setArithBits(szp(al, 0) | cf | af);
  return al;
}

// AAA / AAS on AX: add or subtract 0x106 when AL's low digit overflowed.
export function asciiAdjust(ax: u32, subtract: bool): u32 {
  const f = getFlags();
  let bits: u32 = 0;
  if ((ax & 0xF) > 9 || (f & AF)) {
    ax = subtract ? ax - 0x106 : ax + 0x106;
    bits = AF | CF;
  }
  ax = (ax & 0xFF0F) & 0xFFFF;
  setArithBits(bits | szp(ax, 0));
  return ax;
}

// AAM: AH = AL / base, AL = AL % base (base != 0, checked by the caller).
export function aam(ax: u32, base: u32): u32 {
  const al = ax & 0xFF;
  const r = ((al / base) << 8) | (al % base);
  setArithBits(szp(r & 0xFF, 0));
  return r;
}

export function aad(ax: u32, base: u32): u32 {
  const al = ((ax & 0xFF) + ((ax >> 8) & 0xFF) * base) & 0xFF;
  // flags as an 8-bit add of AL and AH*base
  const a = ax & 0xFF, b = (((ax >> 8) & 0xFF) * base) & 0xFF;
  setLazy(LazyOp.Add, 0, a, b, a + b);
  return al;
}
