// SSE/SSE2 data movement between XMM registers and memory: MOVUPS/MOVUPD/MOVAPS/
// MOVAPD/MOVDQU/MOVDQA (128 bits) and MOVSS/MOVSD (the low 32/64 bits). One row of
// the opcode table per opcode with a handler per mandatory prefix (none, 66, F3,
// F2), as the SDM's opcode maps list them; decoding picks the handler.
//
// A 16-byte access is four dword accesses, so MMIO gets four exits (reads replayed,
// writes queued) and a page-crossing operand touches both pages; a store checks
// both pages before writing any byte, so a #PF leaves memory unchanged.
import { isMem, regField, rmField, segOf, effectiveOffset } from "./operand";
import { read32, write32, segLinear } from "./memory";
import { raise, aborted, GP } from "./fault";
import { sseUsable, xmm, probeStore } from "./sse-state";

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

// The handlers the table names, one per (opcode, mandatory prefix): `bytes` 4
// (MOVSS), 8 (MOVSD) or 16; `aligned` for MOVAPS/MOVAPD/MOVDQA.
export function sseLoad(rec: u32, bytes: u32, aligned: bool, zeroRest: bool): void {
  if (sseUsable()) loadXmm(rec, bytes, aligned, zeroRest);
}
export function sseStore(rec: u32, bytes: u32, aligned: bool): void {
  if (sseUsable()) storeXmm(rec, bytes, aligned);
}
