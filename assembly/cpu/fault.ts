// How an instruction stops half-way. A fault (or an MMIO read that needs the
// host) sets `abort`; every handler checks it before committing a register,
// and the run loop rolls EIP back to the instruction's start.
import { EXIT_REASON, ExitReason, STOP_WORD } from "../layout";

export const enum Abort { None = 0, Fault = 1, MmioRead = 2 }

export let abort: u32 = Abort.None;
export let faultVector: u32 = 0;
export let faultCode: u32 = 0;
export let faultHasCode: bool = false;
// Set when the current block must end after this instruction: a taken branch,
// an exit, a mode change, or a write into a page holding decoded code.
export let stopBlock: bool = false;
// Set with stopBlock for everything but a near jump: run()'s loop must look at
// the state (exit, interrupt window, TF...) before the next block runs.
export let stopChain: bool = false;
// abort != None or stopBlock, in memory (the run loop tests this one word after
// each instruction, and looks at the two only when it is set; a memory load
// needs no register for the globals there).
// It is 2 (STOP_JUMP) after a jump taken to a record of the same block, which
// the run loop follows itself (execute.ts relJump; only while the word's
// second byte, JUMP_OK, allows it: cpu/run.ts).
@inline export function stopOrAbort(): bool { return load<u8>(STOP_WORD) != 0; }
// The test core (build/core-test.wasm, asc --use SELF_CHECKS=1) checks what the
// generated run loop relies on: a quiet handler never stops its block (it traps if one does).
export const CHECKS: bool = isDefined(SELF_CHECKS);
@inline function setStopOrAbort(v: bool): void { store<u8>(STOP_WORD, v); }
export const STOP_JUMP: u8 = 2;
export const JUMP_OK: u32 = STOP_WORD + 1; // 0xFF: jumps inside the block allowed, 0: not
@inline export function jumpedInBlock(): void { store<u8>(STOP_WORD, STOP_JUMP); }
@inline export function allowJumps(ok: bool): void { store<u8>(JUMP_OK, ok ? 0xFF : 0); }
// Set when `enter` must return to the host after this instruction.
export let exitReason: u32 = ExitReason.None;

export const DE: u32 = 0;
export const DB: u32 = 1;
export const NMI: u32 = 2;
export const BP: u32 = 3;
export const OFV: u32 = 4;
export const BR: u32 = 5;
export const UD: u32 = 6;
export const NM: u32 = 7;
export const DF: u32 = 8;
export const TS: u32 = 10;
export const NP: u32 = 11;
export const SS: u32 = 12;
export const GP: u32 = 13;
export const PF: u32 = 14;
export const MF: u32 = 16;
export const AC: u32 = 17;

// Raise exception `v` for the current instruction; the first one wins.
export function raise(v: u32, code: u32, hasCode: bool): void {
  if (abort != Abort.None) return;
  abort = Abort.Fault;
  setStopOrAbort(true);
  faultVector = v;
  faultCode = code;
  faultHasCode = hasCode;
}
export function raiseGP(code: u32): void { raise(GP, code, true); }
export function raiseUD(): void { raise(UD, 0, false); }

export function abortForMmioRead(): void {
  if (abort != Abort.None) return;
  abort = Abort.MmioRead;
  setStopOrAbort(true);
}

@inline export function aborted(): bool { return abort != Abort.None; }
export function clearAbort(): void { abort = Abort.None; setStopOrAbort(stopBlock); }

@inline export function endBlock(): void { stopBlock = true; stopChain = true; setStopOrAbort(true); }
// A near jump taken: the block ends here, the next one may follow it at once.
@inline export function jumped(): void { stopBlock = true; setStopOrAbort(true); }
export function clearStop(): void { stopBlock = false; stopChain = false; setStopOrAbort(abort != Abort.None); }

export function requestExit(reason: u32): void {
  exitReason = reason;
  store<u32>(EXIT_REASON, reason);
  stopBlock = true;
  stopChain = true;
  setStopOrAbort(true);
}
export function clearExit(): void {
  exitReason = ExitReason.None;
  store<u32>(EXIT_REASON, ExitReason.None);
}
