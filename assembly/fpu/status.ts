// The x87 control and status words, the exception flags an instruction
// raises, and how an unmasked exception reaches the program: #MF at the next
// waiting instruction (CR0.NE = 1) or FERR# to the host (CR0.NE = 0, IRQ 13).
import { ACTIVE, S_FPU_CW, S_FPU_SW, ExitReason } from "../layout";
import { cr0, CR0_NE } from "../cpu/state";
import { raise, requestExit, MF } from "../cpu/fault";

// Status word bits (the low six are also the control word's mask bits).
export const IE: u32 = 0x01;  // invalid operation
export const DE: u32 = 0x02;  // denormal operand
export const ZE: u32 = 0x04;  // zero divide
export const OE: u32 = 0x08;  // overflow
export const UE: u32 = 0x10;  // underflow
export const PE: u32 = 0x20;  // precision (inexact)
export const SF: u32 = 0x40;  // stack fault (with IE; C1 = 1 overflow, 0 underflow)
export const ES: u32 = 0x80;  // error summary
export const C0: u32 = 0x100;
export const C1: u32 = 0x200;
export const C2: u32 = 0x400;
export const C3: u32 = 0x4000;
export const BUSY: u32 = 0x8000;
export const CC: u32 = C0 | C1 | C2 | C3;

// Exceptions the current instruction raised so far (status bits).
export let exc: u32 = 0;
export function clearExc(): void { exc = 0; }
export function flag(bits: u32): void { exc |= bits; }
export function setExc(bits: u32): void { exc = bits; }

@inline export function cw(): u32 { return load<u32>(ACTIVE + S_FPU_CW); }
@inline export function sw(): u32 { return load<u32>(ACTIVE + S_FPU_SW); }
@inline export function setSw(v: u32): void { store<u32>(ACTIVE + S_FPU_SW, v & 0xFFFF); }
export function setCw(v: u32): void { store<u32>(ACTIVE + S_FPU_CW, (v & 0x1F3F) | 0x40); }
// Rounding control: 0 nearest even, 1 down, 2 up, 3 toward zero.
@inline export function rc(): u32 { return (cw() >> 10) & 3; }

// Replace the condition codes C3..C0 by `bits`.
export function setCC(bits: u32): void { setSw((sw() & ~CC) | bits); }

// ES and B follow from the flags and the masks (after FLDCW, FLDENV, FRSTOR).
export function updateSummary(): void {
  const s = sw() & ~(ES | BUSY);
  setSw(unmasked(s) ? s | ES | BUSY : s);
}

// Raised exceptions whose masks are clear.
@inline export function unmasked(bits: u32): u32 { return bits & ~cw() & 0x3F; }

// Record `exc` in the status word. Returns false when an unmasked invalid,
// denormal or zero-divide exception forbids writing the result.
export function commitExc(): bool {
  if (exc == 0) return true;
  let s = sw() | (exc & 0x7F);
  if (exc & SF) s = (s & ~C1) | (exc & C1);
  if (unmasked(exc)) s |= ES | BUSY;
  setSw(s);
  return unmasked(exc & (IE | DE | ZE)) == 0;
}

// A waiting instruction (FWAIT and every non-control x87 instruction) first
// reports a pending unmasked exception. Returns true when it must not run.
export function pendingError(): bool {
  if ((sw() & ES) == 0) return false;
  if (cr0() & CR0_NE) { raise(MF, 0, false); return true; }
  requestExit(ExitReason.FpuError); // MS-DOS compatible: FERR# -> IRQ 13, and go on
  return false;
}
