// Operands of a decoded record: the effective address, the ModRM operand E
// (register or memory), and the stack.
import { R_ATTR, R_RM, R_SEG, R_BASE, R_INDEX, R_SCALE, R_DISP, R_REG, Attr, NO_REG } from "./decode";
import { reg32, setReg32, regSz, setRegSz, ESP, stack32 } from "./state";
import { segLinear, readSz, writeSz, read16, read32, write16, write32, checkWrite } from "./memory";
import { aborted } from "./fault";
import { SEG_SS } from "../layout";

@inline export function attrs(rec: u32): u32 { return load<u8>(rec + R_ATTR); }
@inline export function isMem(rec: u32): bool { return (load<u8>(rec + R_ATTR) & Attr.Mem) != 0; }
@inline export function o32(rec: u32): bool { return (load<u8>(rec + R_ATTR) & Attr.O32) != 0; }
@inline export function a32(rec: u32): bool { return (load<u8>(rec + R_ATTR) & Attr.A32) != 0; }
// Operand size code of a word/dword instruction: 1 = word, 2 = dword.
@inline export function osz(rec: u32): u32 { return o32(rec) ? 2 : 1; }
@inline export function regField(rec: u32): u32 { return load<u8>(rec + R_REG); }
@inline export function rmField(rec: u32): u32 { return load<u8>(rec + R_RM); }
@inline export function segOf(rec: u32): u32 { return load<u8>(rec + R_SEG); }
@inline export function bytesOf(sz: u32): u32 { return 1 << sz; }

// Offset of the memory operand (before segmentation).
@inline export function effectiveOffset(rec: u32): u32 {
  let a = load<u32>(rec + R_DISP);
  const base = load<u8>(rec + R_BASE);
  if (base != NO_REG) a += reg32(base);
  const index = load<u8>(rec + R_INDEX);
  if (index != NO_REG) a += reg32(index) << load<u8>(rec + R_SCALE);
  return a32(rec) ? a : a & 0xFFFF;
}

// Linear address of the memory operand, checked for an access of `bytes`.
@inline export function effectiveLinear(rec: u32, bytes: u32, write: bool): u32 {
  return segLinear(segOf(rec), effectiveOffset(rec), bytes, write);
}

// The last memory operand address computed by readModify, for writeBack.
let eaLinear: u32 = 0;

// Read E (ModRM r/m) of size sz.
@inline export function readE(rec: u32, sz: u32): u32 {
  if (!isMem(rec)) return regSz(rmField(rec), sz);
  return readM(rec, sz);
}

// Write E of size sz.
@inline export function writeE(rec: u32, sz: u32, v: u32): void {
  if (!isMem(rec)) { setRegSz(rmField(rec), sz, v); return; }
  writeM(rec, sz, v);
}

// Read E for a read-modify-write; writeBack stores to the same place.
@inline export function readModify(rec: u32, sz: u32): u32 {
  if (!isMem(rec)) return regSz(rmField(rec), sz);
  return readModifyM(rec, sz);
}
@inline export function writeBack(rec: u32, sz: u32, v: u32): void {
  if (!isMem(rec)) { setRegSz(rmField(rec), sz, v); return; }
  writeBackM(sz, v);
}

// The same when the form is known to be memory (handlers picked at decode time).
@inline export function readM(rec: u32, sz: u32): u32 {
  const lin = effectiveLinear(rec, bytesOf(sz), false);
  if (aborted()) return 0;
  return readSz(lin, sz);
}
@inline export function writeM(rec: u32, sz: u32, v: u32): void {
  const lin = effectiveLinear(rec, bytesOf(sz), true);
  if (aborted()) return;
  writeSz(lin, sz, v);
}
// Its write is checked before anything changes: a #PF on the write (a
// read-only page) leaves the flags as they were, as the processor does.
@inline export function readModifyM(rec: u32, sz: u32): u32 {
  const bytes = bytesOf(sz);
  const lin = effectiveLinear(rec, bytes, true);
  if (aborted()) return 0;
  eaLinear = lin;
  const v = readSz(lin, sz);
  if (!aborted()) checkWrite(lin, bytes);
  return v;
}
@inline export function writeBackM(sz: u32, v: u32): void { writeSz(eaLinear, sz, v); }

// G: the ModRM reg operand.
@inline export function readG(rec: u32, sz: u32): u32 { return regSz(regField(rec), sz); }
@inline export function writeG(rec: u32, sz: u32, v: u32): void { setRegSz(regField(rec), sz, v); }

// ---- stack ----
@inline export function spMask(): u32 { return stack32() ? 0xFFFFFFFF : 0xFFFF; }
@inline export function getSP(): u32 { return reg32(ESP) & spMask(); }
// Set SP, keeping the high half of ESP when the stack is 16-bit.
@inline export function setSP(v: u32): void {
  const m = spMask();
  setReg32(ESP, (reg32(ESP) & ~m) | (v & m));
}

// Push a word (sz 1) or dword (sz 2). ESP changes only if the write succeeds.
export function push(sz: u32, v: u32): void {
  const bytes: u32 = sz == 2 ? 4 : 2;
  const sp = (getSP() - bytes) & spMask();
  const lin = segLinear(SEG_SS, sp, bytes, true);
  if (aborted()) return;
  if (sz == 2) write32(lin, v); else write16(lin, v);
  if (aborted()) return;
  setSP(sp);
}

// Read the value `depth` bytes above the stack top without popping it.
export function peek(sz: u32, depth: u32): u32 {
  const bytes: u32 = sz == 2 ? 4 : 2;
  const lin = segLinear(SEG_SS, (getSP() + depth) & spMask(), bytes, false);
  if (aborted()) return 0;
  return sz == 2 ? read32(lin) : read16(lin);
}

// Pop: read the top, then move ESP (only if the read succeeded).
export function pop(sz: u32): u32 {
  const v = peek(sz, 0);
  if (aborted()) return 0;
  setSP(getSP() + (sz == 2 ? 4 : 2));
  return v;
}

// Write a stack slot relative to a given SP (used by multi-push instructions).
export function writeStack(sp: u32, sz: u32, v: u32): void {
  const bytes: u32 = sz == 2 ? 4 : 2;
  const lin = segLinear(SEG_SS, sp & spMask(), bytes, true);
  if (aborted()) return;
  if (sz == 2) write32(lin, v); else write16(lin, v);
}
