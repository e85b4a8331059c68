// The task-state segment: where each format keeps its fields, and the inner
// stack (SS:ESP for a more privileged ring) that gates switch to.
import { SEG_TR, SEG_SS } from "../layout";
import { segBase, segLimit, segAttr, segSelector, setSegCache, reg32, setReg32, ESP } from "./state";
import { readSys, writeSys } from "./memory";
import { raise, aborted, TS, SS } from "./fault";
import {
  fetchDescriptor, descLo, descHi, descAddr, descAttr, attrDpl, attrPresent, descBase, descLimit, setDescriptor, markAccessed,
} from "./descriptor";

// A 32-bit TSS is type 9/B; a 16-bit one is type 1/3 (bit 3 of the type).
@inline export function tssIs32(attr: u32): bool { return (attr & 8) != 0; }
// Smallest limit each format allows (the last byte of its fixed part).
@inline export function tssMinLimit(is32: bool): u32 { return is32 ? 0x67 : 0x2B; }

// Field offsets: 32-bit format, then 16-bit format.
export const T32_CR3: u32 = 0x1C;
export const T32_EIP: u32 = 0x20;
export const T32_EFLAGS: u32 = 0x24;
export const T32_GPR: u32 = 0x28;   // EAX..EDI, 4 bytes each
export const T32_SEG: u32 = 0x48;   // ES CS SS DS FS GS, 4 bytes each
export const T32_LDT: u32 = 0x60;
export const T32_TRAP: u32 = 0x64;
export const T16_IP: u32 = 0x0E;
export const T16_FLAGS: u32 = 0x10;
export const T16_GPR: u32 = 0x12;   // AX..DI, 2 bytes each
export const T16_SEG: u32 = 0x22;   // ES CS SS DS, 2 bytes each
export const T16_LDT: u32 = 0x2A;

// The inner stack found by innerStack.
export let stackSel: u32 = 0;
export let stackEsp: u32 = 0;
export let stackLo: u32 = 0;
export let stackHi: u32 = 0;
export let stackAt: u32 = 0;

// Read and check the ring-`dpl` stack of the current TSS (INT/CALL through a
// gate to an inner level). False after raising #TS/#SS; `ext` is the EXT bit.
export function innerStack(dpl: u32, ext: u32): bool {
  const base = segBase(SEG_TR);
  const is32 = tssIs32(segAttr(SEG_TR));
  const slot: u32 = is32 ? 4 + (dpl << 3) : 2 + (dpl << 2);
  if (slot + (is32 ? 5 : 3) > segLimit(SEG_TR)) { raise(TS, (segSelector(SEG_TR) & 0xFFFC) | ext, true); return false; }
  const esp = readSys(base + slot, is32 ? 4 : 2);
  const sel = readSys(base + slot + (is32 ? 4 : 2), 2);
  if (aborted()) return false;
  const code = (sel & 0xFFFC) | ext;
  if ((sel & 0xFFFC) == 0) { raise(TS, ext, true); return false; }
  if (!fetchDescriptor(sel)) { if (!aborted()) raise(TS, code, true); return false; }
  const attr = descAttr(descHi);
  if ((sel & 3) != dpl || attrDpl(attr) != dpl || (attr & 0x1A) != 0x12) { raise(TS, code, true); return false; }
  if (!attrPresent(attr)) { raise(SS, code, true); return false; }
  stackSel = sel; stackEsp = esp; stackLo = descLo; stackHi = descHi; stackAt = descAddr;
  return true;
}

// Base and limit of the stack innerStack found.
@inline export function stackBase(): u32 { return descBase(stackLo, stackHi); }
@inline export function stackLimit(): u32 { return descLimit(stackLo, stackHi); }

// Does a frame of `frame` bytes below `top` fit the stack innerStack found
// (both ends inside the segment, expand-down included)?
export function stackFits(top: u32, frame: u32): bool {
  const attr = descAttr(stackHi);
  const big = (attr & 0x4000) != 0;
  const mask: u32 = big ? 0xFFFFFFFF : 0xFFFF;
  const limit = stackLimit();
  const lo: u32 = (attr & 4) ? limit + 1 : 0;
  const hi: u32 = (attr & 4) ? mask : limit;
  // a top of 0 means the very end of the segment (the pushes wrap to it)
  const t: u64 = (top & mask) == 0 ? <u64>mask + 1 : <u64>(top & mask);
  return t >= <u64>frame && t - <u64>frame >= <u64>lo && t - 1 <= <u64>hi;
}

@inline function stackMask(): u32 { return (descAttr(stackHi) & 0x4000) ? 0xFFFFFFFF : 0xFFFF; }

// Write one slot of the inner stack at offset `p`.
export function writeInnerStack(p: u32, bytes: u32, v: u32): void {
  writeSys(stackBase() + (p & stackMask()), bytes, v);
}

// Make the inner stack current, with ESP = `p` (SP only, for a 16-bit stack).
export function enterInnerStack(p: u32): void {
  setDescriptor(stackLo, stackHi, stackAt);
  markAccessed();
  setSegCache(SEG_SS, stackSel, stackBase(), stackLimit(), descAttr(stackHi));
  setReg32(ESP, stackMask() == 0xFFFFFFFF ? p : (reg32(ESP) & 0xFFFF0000) | (p & 0xFFFF));
}
