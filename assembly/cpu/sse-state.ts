// SSE state (XMM0-7, MXCSR) and the instructions that manage it: the checks every
// SSE instruction makes first, FXSAVE/FXRSTOR (with the x87 state), LDMXCSR,
// STMXCSR and the fences. Whether the CPU has FXSR/SSE/SSE2 is the CPU model's
// choice, read from CPUID.1:EDX (the host's table for this vCPU, as KVM does).
import { ACTIVE, S_CR4, S_XMM, S_MXCSR, S_FPU_EMPTY, S_FPU_FOP, S_FPU_FIP, S_FPU_FCS, S_FPU_FDP, S_FPU_FDS, MXCSR_POWER_ON } from "../layout";
import { cr0, CR0_EM, CR0_TS } from "./state";
import { raise, raiseUD, aborted, NM, GP } from "./fault";
import { isMem, regField, segOf, effectiveOffset } from "./operand";
import { read32, write32, segLinear, probeWrite } from "./memory";
import { cpuidFeatures } from "./system";
import { unimplemented } from "./execute";
import { cw, sw, setCw, setSw } from "../fpu/status";
import { st, mant, sexp, set80 } from "../fpu/stack";
import { operandLinear, writeBytes, readBytes } from "../fpu/operand";

export const FEATURE_FXSR: u32 = 1 << 24;
export const FEATURE_SSE: u32 = 1 << 25;
export const FEATURE_SSE2: u32 = 1 << 26;
export const CR4_OSFXSR: u32 = 1 << 9;
export const CR4_OSXMMEXCPT: u32 = 1 << 10;

// MXCSR bits this CPU keeps: flags 0-5, masks 7-12, RC 13-14, FZ 15. DAZ (bit 6)
// is absent, as on the first SSE2 processors: MXCSR_MASK says so, and setting
// it (or any bit above 15) is #GP(0).
export const MXCSR_MASK: u32 = 0xFFBF;

export function ssePowerOn(): void {
  memory.fill(ACTIVE + S_XMM, 0, 128);
  store<u32>(ACTIVE + S_MXCSR, MXCSR_POWER_ON);
}

/** CR4 bits a guest may set, given CPUID.1:EDX. */
export function sseCr4Bits(features: u32): u32 {
  return (features & FEATURE_FXSR ? CR4_OSFXSR : 0) | (features & FEATURE_SSE ? CR4_OSXMMEXCPT : 0);
}

// Raise the #PF a store of `bytes` at `lin` would raise, storing nothing. For an
// operand that crosses into the next page, CR2 is that page's first byte (where
// the access enters it), as the processor reports it.
export function probeStore(lin: u32, bytes: u32): void {
  probeWrite(lin, 1);
  const next = (lin | 0xFFF) + 1;
  if (!aborted() && next - lin < bytes) probeWrite(next, 1);
}

@inline export function xmm(r: u32): u32 { return ACTIVE + S_XMM + (r << 4); }

// The checks before any SSE/SSE2 instruction that uses XMM or MXCSR (SDM vol. 2,
// exception class "SIMD"): #UD with CR0.EM set or CR4.OSFXSR clear, then #NM with
// CR0.TS set. CR4.OSFXSR can only be set on a model with FXSR/SSE, so a CPU without
// SSE takes #UD here.
export function sseUsable(): bool {
  const c = cr0();
  if ((c & CR0_EM) || !(load<u32>(ACTIVE + S_CR4) & CR4_OSFXSR)) { raiseUD(); return false; }
  if (c & CR0_TS) { raise(NM, 0, false); return false; }
  return true;
}

// ---- LDMXCSR, STMXCSR (0F AE /2, /3) ----
export function ldmxcsr(rec: u32): void {
  if (!sseUsable()) return;
  const lin = operandLinear(rec, 4, false);
  if (aborted()) return;
  const v = read32(lin);
  if (aborted()) return;
  if (v & ~MXCSR_MASK) { raise(GP, 0, true); return; }
  store<u32>(ACTIVE + S_MXCSR, v);
}

export function stmxcsr(rec: u32): void {
  if (!sseUsable()) return;
  const lin = operandLinear(rec, 4, true);
  if (aborted()) return;
  write32(lin, load<u32>(ACTIVE + S_MXCSR));
}

// ---- FXSAVE, FXRSTOR (0F AE /0, /1): the 512-byte image ----
// Layout (32-bit form): FCW, FSW, abridged FTW (bit per physical register, 1 = in
// use), FOP, FIP, FCS, FDP, FDS, MXCSR, MXCSR_MASK, ST0-7 (16 bytes each), XMM0-7.
// Bytes 288-511 are reserved or the software's: FXSAVE leaves them alone.
const FX: u32 = <u32>memory.data(288, 16);
const FX_USED: u32 = 288;

function fxChecks(rec: u32, write: bool): u32 {
  if (!(cpuidFeatures() & FEATURE_FXSR)) { unimplemented(); return 0; }
  if (cr0() & (CR0_EM | CR0_TS)) { raise(NM, 0, false); return 0; }
  const lin = segLinear(segOf(rec), effectiveOffset(rec), 512, write);
  if (aborted()) return 0;
  if (lin & 15) { raise(GP, 0, true); return 0; }
  if (write) probeStore(lin, 512); // a #PF on either page before any byte is stored
  return lin;
}

export function fxsave(rec: u32): void {
  const lin = fxChecks(rec, true);
  if (aborted()) return;
  memory.fill(FX, 0, FX_USED);
  store<u16>(FX + 0, <u16>cw());
  store<u16>(FX + 2, <u16>sw());
  store<u8>(FX + 4, <u8>(~load<u8>(ACTIVE + S_FPU_EMPTY)));
  store<u16>(FX + 6, <u16>(load<u32>(ACTIVE + S_FPU_FOP) & 0x7FF));
  store<u32>(FX + 8, load<u32>(ACTIVE + S_FPU_FIP));
  store<u16>(FX + 12, <u16>load<u32>(ACTIVE + S_FPU_FCS));
  store<u32>(FX + 16, load<u32>(ACTIVE + S_FPU_FDP));
  store<u16>(FX + 20, <u16>load<u32>(ACTIVE + S_FPU_FDS));
  store<u32>(FX + 24, load<u32>(ACTIVE + S_MXCSR));
  store<u32>(FX + 28, MXCSR_MASK);
  for (let i: u32 = 0; i < 8; i++) {
    const a = st(i);
    store<u64>(FX + 32 + (i << 4), mant(a));
    store<u16>(FX + 40 + (i << 4), <u16>sexp(a));
  }
  memory.copy(FX + 160, ACTIVE + S_XMM, 128);
  writeBytes(lin, FX, FX_USED);
}

export function fxrstor(rec: u32): void {
  const lin = fxChecks(rec, false);
  if (aborted()) return;
  readBytes(lin, FX, FX_USED);
  if (aborted()) return;
  const mxcsr = load<u32>(FX + 24);
  if (mxcsr & ~MXCSR_MASK) { raise(GP, 0, true); return; }
  setCw(load<u16>(FX + 0));
  setSw(load<u16>(FX + 2)); // TOP first: ST(i) below depends on it
  store<u8>(ACTIVE + S_FPU_EMPTY, <u8>(~load<u8>(FX + 4)));
  store<u32>(ACTIVE + S_FPU_FOP, load<u16>(FX + 6) & 0x7FF);
  store<u32>(ACTIVE + S_FPU_FIP, load<u32>(FX + 8));
  store<u32>(ACTIVE + S_FPU_FCS, load<u16>(FX + 12));
  store<u32>(ACTIVE + S_FPU_FDP, load<u32>(FX + 16));
  store<u32>(ACTIVE + S_FPU_FDS, load<u16>(FX + 20));
  for (let i: u32 = 0; i < 8; i++) set80(st(i), load<u64>(FX + 32 + (i << 4)), <u32>load<u16>(FX + 40 + (i << 4)));
  store<u32>(ACTIVE + S_MXCSR, mxcsr);
  memory.copy(ACTIVE + S_XMM, FX + 160, 128);
}

// ---- LFENCE, MFENCE, SFENCE (0F AE /5, /6, /7 with a register ModRM) ----
// One vCPU runs at a time and stores are never reordered here, so a fence only
// has to exist. The memory forms (XRSTOR, XSAVEOPT, CLFLUSH) are not on this CPU.
export function fence(rec: u32): void {
  const need = regField(rec) == 7 ? FEATURE_SSE : FEATURE_SSE2;
  if (isMem(rec) || !(cpuidFeatures() & need)) { unimplemented(); return; }
}
