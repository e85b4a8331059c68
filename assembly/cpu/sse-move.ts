// SSE/SSE2 data movement between XMM registers and memory: MOVUPS/MOVUPD/MOVAPS/
// MOVAPD/MOVDQU/MOVDQA (128 bits) and MOVSS/MOVSD (the low 32/64 bits). One row of
// the opcode table per opcode; the mandatory prefix (none, 66, F3, F2) picks the
// instruction, as the SDM's opcode maps do.
//
// A 16-byte access is four dword accesses, so MMIO gets four exits (reads replayed,
// writes queued) and a page-crossing operand touches both pages; a store checks
// both pages before writing any byte, so a #PF leaves memory unchanged.
import { R_ATTR, Attr } from "./decode";
import { isMem, regField, rmField, segOf, effectiveOffset } from "./operand";
import { read32, write32, segLinear } from "./memory";
import { raise, raiseUD, aborted, GP } from "./fault";
import { unimplemented } from "./execute";
import { sseUsable, xmm, probeStore } from "./sse-state";

// Which mandatory prefix: F3 and F2 take precedence over 66 (the last of F2/F3 counts).
const P_NONE: u32 = 0, P_66: u32 = 1, P_F3: u32 = 2, P_F2: u32 = 3;
@inline function mandatory(rec: u32): u32 {
  const a = <u32>load<u8>(rec + R_ATTR);
  if (a & Attr.Rep) return P_F3;
  if (a & Attr.Repne) return P_F2;
  return a & Attr.Opsize ? P_66 : P_NONE;
}

// The operand's linear address for `bytes` bytes; `aligned`: #GP(0) unless the
// address is a multiple of 16 (MOVAPS, MOVAPD, MOVDQA).
function operandAt(rec: u32, bytes: u32, write: bool, aligned: bool): u32 {
  const lin = segLinear(segOf(rec), effectiveOffset(rec), bytes, write);
  if (aborted()) return 0;
  if (aligned && (lin & 15)) { raise(GP, 0, true); return 0; }
  if (write) probeStore(lin, bytes);
  return lin;
}

// Load `bytes` (4, 8 or 16) into XMM reg; the memory forms of MOVSS/MOVSD zero the rest.
function loadXmm(rec: u32, bytes: u32, aligned: bool, zeroRest: bool): void {
  const dst = xmm(regField(rec));
  if (!isMem(rec)) {
    memory.copy(dst, xmm(rmField(rec)), bytes);
    return;
  }
  const lin = operandAt(rec, bytes, false, aligned);
  if (aborted()) return;
  const a = read32(lin);
  if (aborted()) return;
  let b: u32 = 0, c: u32 = 0, d: u32 = 0;
  if (bytes >= 8) { b = read32(lin + 4); if (aborted()) return; }
  if (bytes == 16) {
    c = read32(lin + 8); if (aborted()) return;
    d = read32(lin + 12); if (aborted()) return;
  }
  store<u32>(dst, a);
  if (bytes >= 8 || zeroRest) store<u32>(dst + 4, b);
  if (bytes == 16 || zeroRest) { store<u32>(dst + 8, c); store<u32>(dst + 12, d); }
}

// Store `bytes` of XMM reg to E (a register destination takes only those bytes).
function storeXmm(rec: u32, bytes: u32, aligned: bool): void {
  const src = xmm(regField(rec));
  if (!isMem(rec)) {
    memory.copy(xmm(rmField(rec)), src, bytes);
    return;
  }
  const lin = operandAt(rec, bytes, true, aligned);
  if (aborted()) return;
  for (let i: u32 = 0; i < bytes; i += 4) write32(lin + i, load<u32>(src + i));
}

// 0F 10: MOVUPS, 66 MOVUPD, F3 MOVSS, F2 MOVSD (load forms)
export function sseMovLoad(rec: u32): void {
  if (!sseUsable()) return;
  const p = mandatory(rec);
  if (p == P_F3) loadXmm(rec, 4, false, true);
  else if (p == P_F2) loadXmm(rec, 8, false, true);
  else loadXmm(rec, 16, false, false);
}

// 0F 11: the store forms of the same
export function sseMovStore(rec: u32): void {
  if (!sseUsable()) return;
  const p = mandatory(rec);
  if (p == P_F3) storeXmm(rec, 4, false);
  else if (p == P_F2) storeXmm(rec, 8, false);
  else storeXmm(rec, 16, false);
}

// 0F 28 / 0F 29: MOVAPS, 66 MOVAPD (load / store); F3 and F2 are not defined
export function sseMovAligned(rec: u32, store: bool): void {
  if (mandatory(rec) >= P_F3) { raiseUD(); return; }
  if (!sseUsable()) return;
  if (store) storeXmm(rec, 16, true); else loadXmm(rec, 16, true, false);
}

// 0F 6F / 0F 7F: 66 MOVDQA, F3 MOVDQU (load / store). Without a prefix it is the
// MMX MOVQ, which this CPU does not have; F2 is not defined.
export function sseMovDq(rec: u32, store: bool): void {
  const p = mandatory(rec);
  if (p == P_NONE) { unimplemented(); return; }
  if (p == P_F2) { raiseUD(); return; }
  if (!sseUsable()) return;
  const aligned = p == P_66;
  if (store) storeXmm(rec, 16, aligned); else loadXmm(rec, 16, aligned, false);
}
