// The FPU environment and state images: FNSTENV/FLDENV (14 or 28 bytes) and
// FNSAVE/FRSTOR (plus the eight registers, 94 or 108 bytes), in the 16- and
// 32-bit layouts of protected mode and of real/virtual-8086 mode (where the
// instruction and data pointers are 20/32-bit linear addresses).
import { ACTIVE, S_FPU_FOP, S_FPU_FIP, S_FPU_FCS, S_FPU_FDP, S_FPU_FDS } from "../layout";
import { cw, sw, setCw, setSw, updateSummary } from "./status";
import { tagWord, setTagWord, st, mant, sexp, set80 } from "./stack";

export const IMAGE: u32 = <u32>memory.data(112, 16);

@inline function put16(at: u32, v: u32): void { store<u16>(IMAGE + at, <u16>v); }
@inline function put32(at: u32, v: u32): void { store<u32>(IMAGE + at, v); }
@inline function get16(at: u32): u32 { return <u32>load<u16>(IMAGE + at); }
@inline function get32(at: u32): u32 { return load<u32>(IMAGE + at); }
@inline function field(off: u32): u32 { return load<u32>(ACTIVE + off); }

export function envSize(o32: bool): u32 { return o32 ? 28 : 14; }

// Write the environment into IMAGE; returns its size.
export function saveEnv(o32: bool, real: bool): u32 {
  const fop = field(S_FPU_FOP) & 0x7FF;
  let ip = field(S_FPU_FIP), dp = field(S_FPU_FDP);
  if (real) { ip += field(S_FPU_FCS) << 4; dp += field(S_FPU_FDS) << 4; }
  if (o32) {
    put32(0, 0xFFFF0000 | cw()); put32(4, 0xFFFF0000 | sw()); put32(8, 0xFFFF0000 | tagWord());
    if (real) {
      put32(12, 0xFFFF0000 | (ip & 0xFFFF)); put32(16, ((ip >> 16) << 12) | fop);
      put32(20, 0xFFFF0000 | (dp & 0xFFFF)); put32(24, (dp >> 16) << 12);
    } else {
      put32(12, ip); put32(16, (fop << 16) | (field(S_FPU_FCS) & 0xFFFF));
      put32(20, dp); put32(24, 0xFFFF0000 | field(S_FPU_FDS));
    }
    return 28;
  }
  put16(0, cw()); put16(2, sw()); put16(4, tagWord());
  if (real) {
    put16(6, ip); put16(8, (((ip >> 16) & 0xF) << 12) | fop);
    put16(10, dp); put16(12, ((dp >> 16) & 0xF) << 12);
  } else {
    put16(6, ip); put16(8, field(S_FPU_FCS)); put16(10, dp); put16(12, field(S_FPU_FDS));
  }
  return 14;
}

// Load the environment from IMAGE.
export function loadEnv(o32: bool, real: bool): void {
  let ip: u32, cs: u32 = 0, dp: u32, ds: u32 = 0, fop: u32;
  if (o32) {
    setCw(get16(0)); setSw(get16(4)); setTagWord(get16(8));
    if (real) {
      ip = get16(12) | ((get32(16) >> 12) << 16); fop = get32(16) & 0x7FF;
      dp = get16(20) | ((get32(24) >> 12) << 16);
    } else {
      ip = get32(12); cs = get16(16); fop = (get32(16) >> 16) & 0x7FF; dp = get32(20); ds = get16(24);
    }
  } else {
    setCw(get16(0)); setSw(get16(2)); setTagWord(get16(4));
    if (real) {
      ip = get16(6) | ((get16(8) >> 12) << 16); fop = get16(8) & 0x7FF;
      dp = get16(10) | ((get16(12) >> 12) << 16);
    } else {
      ip = get16(6); cs = get16(8); fop = 0; dp = get16(10); ds = get16(12);
    }
  }
  store<u32>(ACTIVE + S_FPU_FIP, ip); store<u32>(ACTIVE + S_FPU_FCS, cs);
  store<u32>(ACTIVE + S_FPU_FDP, dp); store<u32>(ACTIVE + S_FPU_FDS, ds);
  store<u32>(ACTIVE + S_FPU_FOP, fop);
  updateSummary();
}

// The registers ST(0)..ST(7), 10 bytes each, after an environment of `at` bytes.
export function saveRegs(at: u32): void {
  for (let i: u32 = 0; i < 8; i++) {
    const a = st(i);
    store<u64>(IMAGE + at + i * 10, mant(a));
    store<u16>(IMAGE + at + i * 10 + 8, <u16>sexp(a));
  }
}
export function loadRegs(at: u32): void {
  for (let i: u32 = 0; i < 8; i++) set80(st(i), load<u64>(IMAGE + at + i * 10), <u32>load<u16>(IMAGE + at + i * 10 + 8));
}
