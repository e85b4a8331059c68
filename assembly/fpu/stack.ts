// The x87 register stack: eight 80-bit registers addressed relative to TOP,
// each valid or empty. A value is handled by the address of a 16-byte slot:
// u64 significand (explicit integer bit) at +0, u16 sign | exponent at +8.
import { ACTIVE, S_FPU_SW, S_FPU_EMPTY, S_FPU_REGS, FPU_REG_SIZE } from "../layout";

@inline export function mant(a: u32): u64 { return load<u64>(a); }
@inline export function sexp(a: u32): u32 { return <u32>load<u16>(a + 8); }
@inline export function set80(a: u32, m: u64, se: u32): void { store<u64>(a, m); store<u16>(a + 8, <u16>se); }
@inline export function copy80(dst: u32, src: u32): void { set80(dst, mant(src), sexp(src)); }

// The QNaN "real indefinite": the masked response to an invalid operation.
export function setIndefinite(a: u32): void { set80(a, 0xC000000000000000, 0xFFFF); }

@inline export function top(): u32 { return (load<u32>(ACTIVE + S_FPU_SW) >> 11) & 7; }
@inline export function setTop(t: u32): void {
  const sw = load<u32>(ACTIVE + S_FPU_SW);
  store<u32>(ACTIVE + S_FPU_SW, (sw & ~0x3800) | ((t & 7) << 11));
}
@inline function physOf(i: u32): u32 { return (top() + i) & 7; }
@inline export function physAddr(p: u32): u32 { return ACTIVE + S_FPU_REGS + p * FPU_REG_SIZE; }

// The slot of ST(i).
@inline export function st(i: u32): u32 { return physAddr(physOf(i)); }

@inline export function physEmpty(p: u32): bool { return ((load<u8>(ACTIVE + S_FPU_EMPTY) >> p) & 1) != 0; }
@inline export function isEmpty(i: u32): bool { return physEmpty(physOf(i)); }
export function setPhysEmpty(p: u32, empty: bool): void {
  const t = <u32>load<u8>(ACTIVE + S_FPU_EMPTY);
  store<u8>(ACTIVE + S_FPU_EMPTY, <u8>(empty ? t | (1 << p) : t & ~(1 << p)));
}
@inline export function setEmpty(i: u32, empty: bool): void { setPhysEmpty(physOf(i), empty); }
export function setAllEmpty(): void { store<u8>(ACTIVE + S_FPU_EMPTY, 0xFF); }

// Push: the new ST(0) is the register below TOP (the caller checked it is empty).
export function push(): void { setTop(top() - 1); setEmpty(0, false); }
export function pop(): void { setEmpty(0, true); setTop(top() + 1); }

// The architectural tag word, derived from the contents: 00 valid, 01 zero,
// 10 special (NaN, infinity, denormal, unsupported), 11 empty.
export function tagWord(): u32 {
  let tw: u32 = 0;
  for (let p: u32 = 0; p < 8; p++) {
    let tag: u32 = 3;
    if (!physEmpty(p)) {
      const a = physAddr(p);
      const e = sexp(a) & 0x7FFF;
      const m = mant(a);
      if (e == 0) tag = m == 0 ? 1 : 2;
      else if (e == 0x7FFF || (m >> 63) == 0) tag = 2;
      else tag = 0;
    }
    tw |= tag << (p * 2);
  }
  return tw;
}

// Loading a tag word only says which registers are empty (the others are
// classified from their contents, as the hardware does since the 486).
export function setTagWord(tw: u32): void {
  let empty: u32 = 0;
  for (let p: u32 = 0; p < 8; p++) if (((tw >> (p * 2)) & 3) == 3) empty |= 1 << p;
  store<u8>(ACTIVE + S_FPU_EMPTY, <u8>empty);
}
