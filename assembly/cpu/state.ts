// Architectural state of the running vCPU: registers, segment caches, control
// registers. Everything lives in the ACTIVE block so the host can read it.
import {
  ACTIVE, S_GPR, S_EIP, S_SEG, SEG_SIZE, SEG_SELECTOR, SEG_BASE, SEG_LIMIT, SEG_ATTR,
  SEG_LO, SEG_HI, SEG_RIGHTS, SegRight, S_CR0, S_CPL, S_EFLAGS, SEG_CS, SEG_SS,
} from "../layout";
import { breakChains } from "./chain";

export const EAX: u32 = 0;
export const ECX: u32 = 1;
export const EDX: u32 = 2;
export const EBX: u32 = 3;
export const ESP: u32 = 4;
export const EBP: u32 = 5;
export const ESI: u32 = 6;
export const EDI: u32 = 7;

// EFLAGS bits
export const CF: u32 = 1 << 0;
export const PF: u32 = 1 << 2;
export const AF: u32 = 1 << 4;
export const ZF: u32 = 1 << 6;
export const SF: u32 = 1 << 7;
export const TF: u32 = 1 << 8;
export const IF: u32 = 1 << 9;
export const DF: u32 = 1 << 10;
export const OF: u32 = 1 << 11;
export const IOPL: u32 = 3 << 12;
export const NT: u32 = 1 << 14;
export const RF: u32 = 1 << 16;
export const VM: u32 = 1 << 17;
export const AC: u32 = 1 << 18;
export const VIF: u32 = 1 << 19;
export const VIP: u32 = 1 << 20;
export const ID: u32 = 1 << 21;
export const ARITH_FLAGS: u32 = CF | PF | AF | ZF | SF | OF;

// CR0 bits
export const CR0_PE: u32 = 1 << 0;
export const CR0_MP: u32 = 1 << 1;
export const CR0_EM: u32 = 1 << 2;
export const CR0_TS: u32 = 1 << 3;
export const CR0_ET: u32 = 1 << 4;
export const CR0_NE: u32 = 1 << 5;
export const CR0_WP: u32 = 1 << 16;
export const CR0_AM: u32 = 1 << 18;
export const CR0_PG: u32 = 1 << 31;

// ---- general registers ----
@inline export function reg32(r: u32): u32 { return load<u32>(ACTIVE + S_GPR + (r << 2)); }
@inline export function setReg32(r: u32, v: u32): void { store<u32>(ACTIVE + S_GPR + (r << 2), v); }
@inline export function reg16(r: u32): u32 { return load<u16>(ACTIVE + S_GPR + (r << 2)); }
@inline export function setReg16(r: u32, v: u32): void { store<u16>(ACTIVE + S_GPR + (r << 2), v); }
// AL CL DL BL AH CH DH BH: the high four name byte 1 of the first four registers.
@inline function reg8Addr(r: u32): u32 { return ACTIVE + S_GPR + ((r & 3) << 2) + (r >> 2); }
@inline export function reg8(r: u32): u32 { return load<u8>(reg8Addr(r)); }
@inline export function setReg8(r: u32, v: u32): void { store<u8>(reg8Addr(r), v); }

// Register of operand size `sz` (0 = byte, 1 = word, 2 = dword).
@inline export function regSz(r: u32, sz: u32): u32 {
  if (sz == 2) return reg32(r);
  if (sz == 1) return reg16(r);
  return reg8(r);
}
@inline export function setRegSz(r: u32, sz: u32, v: u32): void {
  if (sz == 2) setReg32(r, v);
  else if (sz == 1) setReg16(r, v);
  else setReg8(r, v);
}

@inline export function eip(): u32 { return load<u32>(ACTIVE + S_EIP); }
@inline export function setEip(v: u32): void { store<u32>(ACTIVE + S_EIP, v); }

@inline export function cr0(): u32 { return load<u32>(ACTIVE + S_CR0); }
@inline export function cpl(): u32 { return load<u32>(ACTIVE + S_CPL); }
@inline export function protectedMode(): bool { return (cr0() & CR0_PE) != 0; }
@inline export function v86Mode(): bool { return (load<u32>(ACTIVE + S_EFLAGS) & VM) != 0; }

// ---- segment caches ----
@inline export function segAddr(s: u32): u32 { return ACTIVE + S_SEG + s * SEG_SIZE; }
@inline export function segBase(s: u32): u32 { return load<u32>(segAddr(s) + SEG_BASE); }
@inline export function segSelector(s: u32): u32 { return load<u32>(segAddr(s) + SEG_SELECTOR); }
@inline export function segLimit(s: u32): u32 { return load<u32>(segAddr(s) + SEG_LIMIT); }
@inline export function segAttr(s: u32): u32 { return load<u32>(segAddr(s) + SEG_ATTR); }
// D/B bit: 32-bit default operand size for CS, 32-bit stack for SS.
@inline export function segBig(s: u32): bool { return (segAttr(s) & 0x4000) != 0; }
@inline export function code32(): bool { return segBig(SEG_CS); }
@inline export function stack32(): bool { return segBig(SEG_SS); }

// Fill a segment cache and its derived check fields.
// attr: access byte (bits 0-7) and the flags nibble (bits 12-15: AVL, L, D/B, G).
export function setSegCache(s: u32, selector: u32, base: u32, limit: u32, attr: u32): void {
  if (s == SEG_CS) breakChains(); // base, limit and code size of the linked blocks
  const a = segAddr(s);
  store<u32>(a + SEG_SELECTOR, selector & 0xFFFF);
  store<u32>(a + SEG_BASE, base);
  store<u32>(a + SEG_LIMIT, limit);
  store<u32>(a + SEG_ATTR, attr);
  let lo: u32 = 0, hi: u32 = limit;
  let rights: u32 = 0;
  const present = (attr & 0x80) != 0;
  const isSystem = (attr & 0x10) == 0;
  if (present && !isSystem) {
    rights = SegRight.Usable;
    if (attr & 8) {
      // code: always executable, readable if R, writable only in real mode
      // (which checks limits, not types: a write through CS is allowed)
      rights |= SegRight.Code;
      if (attr & 2) rights |= SegRight.Read;
      if (!protectedMode()) rights |= SegRight.Read | SegRight.Write;
    } else {
      rights |= SegRight.Read;
      if (attr & 2) rights |= SegRight.Write;
      if (attr & 4) { // expand-down: valid offsets are above the limit
        lo = limit + 1;
        hi = (attr & 0x4000) ? 0xFFFFFFFF : 0xFFFF;
      }
    }
  }
  if (!rights) { lo = 1; hi = 0; } // unusable: every access fails the check
  // base 0 and every offset valid: the address is the offset (memory.ts segLinear's short path)
  if (rights && base == 0 && lo == 0 && hi == 0xFFFFFFFF) rights |= SegRight.Flat;
  store<u32>(a + SEG_LO, lo);
  store<u32>(a + SEG_HI, hi);
  store<u32>(a + SEG_RIGHTS, rights);
}

// Real-mode and V86 segment load: base = selector * 16, 64 KiB limit.
// The access rights of a real-mode cache are those of a present, writable data
// segment (CS: code, readable); V86 segments run at DPL 3.
export function loadSegReal(s: u32, selector: u32): void {
  const sel = selector & 0xFFFF;
  if (s == SEG_CS) {
    setSegCache(s, sel, sel << 4, 0xFFFF, v86Mode() ? 0xFB : 0x9B);
    // V86, like real mode, checks limits only: a write through CS is allowed
    if (v86Mode()) store<u32>(segAddr(s) + SEG_RIGHTS, load<u32>(segAddr(s) + SEG_RIGHTS) | SegRight.Read | SegRight.Write);
  } else {
    // keep the limit and D/B of a cache loaded in protected mode ("unreal mode")
    const a = segAddr(s);
    const keep = protectedMode() ? 0 : (load<u32>(a + SEG_ATTR) & 0xC000);
    const limit = keep ? load<u32>(a + SEG_LIMIT) : 0xFFFF;
    setSegCache(s, sel, sel << 4, v86Mode() ? 0xFFFF : limit, (v86Mode() ? 0xF3 : 0x93) | (v86Mode() ? 0 : keep));
  }
  if (s == SEG_CS) store<u32>(ACTIVE + S_CPL, v86Mode() ? 3 : 0);
}
