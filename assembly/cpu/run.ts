// The trap-and-emulate loop: find (or decode) the block at CS:EIP, run its
// records, deliver exceptions and injected interrupts at instruction
// boundaries, and leave to the host on an exit or when the budget is spent.
import {
  ACTIVE, BLOCKS, BLOCK_COUNT, BLOCK_SIZE, BLOCK_HEADER, BLOCK_MAX_INSNS, RECORD_SIZE,
  RAM_BASE, TLB_READ, EXIT_RETIRED, ExitReason, S_INSTRET, S_HALTED, S_SHADOW, S_IRQ, S_EFLAGS,
  S_LAST_EIP, S_LAST_OPCODE, S_LAST_FLAGS, EXIT_DETAIL_VECTOR, EXIT_DETAIL_ERROR, EXIT_DETAIL_EIP,
  EXIT_DETAIL_OPCODE, EXIT_DETAIL_FLAGS, DetailFlag, S_LAST_VECTOR, S_LAST_ERROR, SEG_CS,
  EXIT_INSN_EIP, STOP_WORD, Counter, EXIT_DETAIL_ERROR as DETAIL_ERR, S_NMI, NmiBit, S_IRQ_WINDOW, ErrorCode,
} from "../layout";
import { eip, setEip, segBase, segLimit, code32, IF, TF } from "./state";
import { decode, setFetch, crossedPage, R_H, R_OP, R_LEN, R_BYTES, R_HFLAGS, R_OFF, R_ATTR, R_DISP, R_SKIP, Attr } from "./decode";
import { execute, runLoop } from "./dispatch.generated";
import { HFlag, FUSE_IDS, FUSED, OVER_IDS, OVERS, H_JCC_OVER } from "./opcodes.generated";
import {
  abort, Abort, aborted, clearAbort, faultVector, faultCode, faultHasCode, stopBlock, stopChain, clearStop, exitReason, stopOrAbort,
  clearExit, requestExit, raise, GP, jumped, allowJumps, STOP_JUMP,
} from "./fault";
import { exception, interrupt, singleStepTrap, Source } from "./interrupt";
import { translate, ramSize, markCodePage, pageGeneration, tlbAccess } from "./memory";
import { TlbBit } from "../layout";
import { setInsnStart, setRetired, insnStart, retired } from "./context";
import { setPos, posBase, posK, jumpInBlock } from "./position";
import { completePendingIo } from "./io";
import { mmioReplayStart, mmioReplayDone } from "./mmio-replay";
import { mmioNextWrite, mmioDropWrites } from "./mmio-writes";
import { bump } from "../mmu/counters";
import { TRACING, traceEvent, TraceKind } from "../trace";
import { jitOn, jitRun, jitEvict, jitForget, jitEnded, jitBlock, jitInterprets } from "../jit/tier";
import { BAIL_RECORD } from "../jit/region";
import { chainEpoch, breakChains } from "./chain";

const NMI_VECTOR: u32 = 2;

// Block header fields (20..31 belong to the JIT: jit/tier.ts)
export const B_PHYS: u32 = 0;   // guest-physical address of the first instruction
export const B_KEY: u32 = 4;    // 0x80000000 | mode (bit 0: 32-bit code); 0 = empty slot
export const B_GEN: u32 = 8;    // generation of the code page when decoded
export const B_COUNT: u32 = 12; // records in the block
// 1: the block is one instruction that runs into the next page, whose
// guest-physical address and generation it was decoded from are B_PHYS2, B_GEN2
export const B_CROSS: u32 = 16;
// 32..51: the two successors this block last led to (chain.ts), valid in epoch B_EPOCH
const B_EPOCH: u32 = 32;
const B_NEXT_IP0: u32 = 36;
const B_NEXT0: u32 = 40;
const B_NEXT_IP1: u32 = 44;
const B_NEXT1: u32 = 48;
const B_PHYS2: u32 = 52;
const B_GEN2: u32 = 56;

// The block-cache slot of the block at phys in mode key (the JIT chains through it too).
// (Fibonacci hashing; the product's high bits scaled to BLOCK_COUNT, which need not be a power of 2.)
@inline export function blockSlot(phys: u32, key: u32): u32 {
  const h = (phys ^ (key << 31)) * 0x9E3779B1;
  return BLOCKS + <u32>((<u64>h * BLOCK_COUNT) >>> 32) * BLOCK_SIZE;
}

// The block at CS:EIP, decoding it on a miss; 0 when fetching faulted.
function currentBlock(): u32 {
  const ip = eip();
  const limit = segLimit(SEG_CS);
  if (ip > limit) { raise(GP, 0, true); return 0; }
  const lin = segBase(SEG_CS) + ip;
  let e = load<u32>(TLB_READ + ((lin >>> 12) << 2));
  if (!(e & tlbAccess)) {
    const p = translate(lin, false, tlbAccess == TlbBit.User);
    if (aborted()) return 0;
    if (p >= ramSize) {
      store<u32>(DETAIL_ERR, ErrorCode.CodeFromMmio);
      requestExit(ExitReason.Error);
      return 0;
    }
    e = load<u32>(TLB_READ + ((lin >>> 12) << 2));
  }
  const pageHost = e & 0xFFFFF000;
  const phys = pageHost - RAM_BASE + (lin & 0xFFF);
  const key: u32 = 0x80000000 | (code32() ? 1 : 0);
  const blk = blockSlot(phys, key);
  const gen = pageGeneration(phys);
  if (load<u32>(blk + B_KEY) == key && load<u32>(blk + B_PHYS) == phys && load<u32>(blk + B_GEN) == gen &&
      (!load<u32>(blk + B_CROSS) || nextPageSame(blk, lin))) return blk;
  return buildBlock(blk, phys, key, gen, lin, pageHost, ip, limit);
}

// A block whose instruction runs into the next page holds only while that
// linear page still maps the physical page it was decoded from, unwritten
// since. (Nothing links to such a block: every run comes through here.)
function nextPageSame(blk: u32, lin: u32): bool {
  const e = load<u32>(TLB_READ + ((((lin >>> 12) + 1) & 0xFFFFF) << 2));
  if (!(e & tlbAccess)) return false; // not in the TLB: buildBlock fills it (or faults)
  const phys2 = (e & 0xFFFFF000) - RAM_BASE;
  return phys2 == load<u32>(blk + B_PHYS2) && pageGeneration(phys2) == load<u32>(blk + B_GEN2);
}

function buildBlock(blk: u32, phys: u32, key: u32, gen: u32, lin: u32, pageHost: u32, ip: u32, limit: u32): u32 {
  bump(Counter.BlocksDecoded);
  breakChains(); // links into this slot meant the block it held
  markCodePage(phys);
  const big = code32();
  let off = lin & 0xFFF;
  let count: u32 = 0;
  let cross: u32 = 0;
  // the next page is only read for an instruction that crosses into it
  const nextLin = (lin & 0xFFFFF000) + 0x1000;
  let nextHost: u32 = 0;
  const ne = load<u32>(TLB_READ + ((nextLin >>> 12) << 2));
  if (ne & tlbAccess) nextHost = ne & 0xFFFFF000;
  while (count < BLOCK_MAX_INSNS) {
    const rec = blk + BLOCK_HEADER + count * RECORD_SIZE;
    // bytes the CS limit allows, at most the 15 an instruction may have
    const offInSeg = ip + (off - (lin & 0xFFF));
    const room = limit - offInSeg;
    const avail: u32 = offInSeg > limit ? 0 : (room >= 14 ? 15 : room + 1);
    setFetch(pageHost, nextHost, off, avail);
    const ok = decode(rec, big);
    store<u8>(rec + R_OFF, off - (lin & 0xFFF));
    if (!ok || crossedPage) {
      if (count > 0) break; // end the block before it; it starts the next one
      if (!ok) { fetchFault(lin, avail); return 0; }
      // a block of its own, valid while the next page holds the same bytes
      // (a hot loop with such an instruction would decode it on every pass)
      cross = 1;
      count = 1;
      break;
    }
    count++;
    off += load<u8>(rec + R_LEN);
    if (off >= 0x1000 || (load<u8>(rec + R_HFLAGS) & HFlag.Ends)) break;
  }
  if (big && !cross) resolveTargets(blk, count);
  jumpsOver(blk, count);
  fusePairs(blk, count);
  jitEvict(blk, phys, key);
  store<u32>(blk + B_PHYS, phys);
  store<u32>(blk + B_KEY, key);
  store<u32>(blk + B_GEN, gen);
  store<u32>(blk + B_COUNT, count);
  store<u32>(blk + B_CROSS, cross);
  if (cross) {
    const phys2 = nextHost - RAM_BASE;
    markCodePage(phys2);
    store<u32>(blk + B_PHYS2, phys2);
    store<u32>(blk + B_GEN2, pageGeneration(phys2));
  }
  jitForget(blk);
  return blk;
}

// A relative jump (32-bit code and operand size: no wrap at 64 KiB) to the
// start of a record of its own block: runRecords goes on at that record
// without leaving the block (the loops of compiled code, a skip over a few
// instructions).
function resolveTargets(blk: u32, count: u32): void {
  for (let i: u32 = 0; i < count; i++) {
    const rec = blk + BLOCK_HEADER + i * RECORD_SIZE;
    if (!(load<u8>(rec + R_HFLAGS) & HFlag.Rel) || !(load<u8>(rec + R_ATTR) & Attr.O32)) continue;
    const to: u32 = load<u8>(rec + R_OFF) + load<u8>(rec + R_LEN) + load<u32>(rec + R_DISP);
    for (let j: u32 = 0; j < count; j++) {
      const at = blk + BLOCK_HEADER + j * RECORD_SIZE;
      // (a jump to itself, as JMP $, stays 0: it leaves the block each time)
      if (load<u8>(at + R_OFF) == to) { store<i8>(rec + R_SKIP, <i8>(j - i)); break; }
    }
  }
}

// Whether a record's R_OP is a Jcc: rel8, or rel16/32 (an invalid or overlong
// form's R_OP is an Op.* past 0x1FF).
@inline function isJcc(op: u32): bool { return (op & 0x1F0) == 0x70 || (op & 0x1F0) == 0x180; }

// A Jcc whose target is the record after next, over a form that has a twin
// for it (opcodes.mjs over: registers and flags only): the Jcc takes the Jcc
// over one instruction of its condition, which only decides, and that form its
// twin, which runs either way and keeps its result when the Jcc is not taken
// (gen-opcodes.mjs). A guest's jump the host cannot predict (a CRC's carry, a
// min or max) then costs no mispredicted host branch. Elsewhere they are the Jcc
// and the form.
function jumpsOver(blk: u32, count: u32): void {
  for (let i: u32 = 0; i + 2 < count; i++) {
    const rec = blk + BLOCK_HEADER + i * RECORD_SIZE;
    const op = <u32>load<u16>(rec + R_OP);
    // a Jcc to the record after next
    if (!isJcc(op) || load<i8>(rec + R_SKIP) != 2) continue;
    const id = <u32>load<u16>(rec + RECORD_SIZE + R_H);
    if (id >= OVER_IDS) continue;
    const twin = <u32>unchecked(OVERS[id]);
    if (twin == 0) continue;
    store<u16>(rec + R_H, <u16>(H_JCC_OVER + (op & 15)));
    store<u16>(rec + RECORD_SIZE + R_H, <u16>twin);
    bump(Counter.JumpsOver);
    i++;
  }
}

// A fused form (opcodes.mjs fuse) right before a Jcc whose condition it has a
// twin for: its record takes the twin, which runs the form and decides the Jcc
// in one case of the run loop (gen-opcodes.mjs). Elsewhere the twin is the form.
function fusePairs(blk: u32, count: u32): void {
  for (let i: u32 = 0; i + 1 < count; i++) {
    const rec = blk + BLOCK_HEADER + i * RECORD_SIZE;
    const id = <u32>load<u16>(rec + R_H);
    if (id >= FUSE_IDS) continue;
    const op = <u32>load<u16>(rec + RECORD_SIZE + R_OP);
    if (!isJcc(op)) continue;
    if (<u32>load<u16>(rec + RECORD_SIZE + R_H) - H_JCC_OVER < 16) continue; // (that Jcc decides for the form after it)
    const twin = <u32>unchecked(FUSED[id * 8 + ((op & 15) >> 1)]);
    if (twin == 0) continue;
    store<u16>(rec + R_H, <u16>twin);
    bump(Counter.PairsFused);
  }
}

// The block `prev` led to last time execution went on at `ip`, or 0.
@inline function chained(prev: u32, ip: u32): u32 {
  if (load<u32>(prev + B_EPOCH) != chainEpoch) return 0;
  if (load<u32>(prev + B_NEXT_IP0) == ip) return load<u32>(prev + B_NEXT0);
  if (load<u32>(prev + B_NEXT_IP1) == ip) return load<u32>(prev + B_NEXT1);
  return 0;
}

// Remember that `prev` led to `blk` at `ip` (the older of the two links goes).
function link(prev: u32, ip: u32, blk: u32): void {
  if (load<u32>(prev + B_EPOCH) != chainEpoch) {
    store<u32>(prev + B_EPOCH, chainEpoch);
    store<u32>(prev + B_NEXT1, 0);
    store<u32>(prev + B_NEXT_IP1, 0);
  } else {
    store<u32>(prev + B_NEXT_IP1, load<u32>(prev + B_NEXT_IP0));
    store<u32>(prev + B_NEXT1, load<u32>(prev + B_NEXT0));
  }
  store<u32>(prev + B_NEXT_IP0, ip);
  store<u32>(prev + B_NEXT0, blk);
}

// The first instruction could not be fetched whole: it runs into the next
// page (not in the TLB yet, or not mapped: #PF) or past the CS limit (#GP).
// Returns with nothing raised when the next page is now in the TLB: try again.
function fetchFault(lin: u32, avail: u32): void {
  const next = (lin & 0xFFFFF000) + 0x1000;
  const crosses = (lin & 0xFFF) + avail > 0x1000;
  if (crosses && !(load<u32>(TLB_READ + ((next >>> 12) << 2)) & tlbAccess)) {
    const p = translate(next, false, tlbAccess == TlbBit.User); // raises #PF if unmapped
    if (aborted()) return;
    if (p >= ramSize) { store<u32>(DETAIL_ERR, ErrorCode.CodeFromMmio); requestExit(ExitReason.Error); }
    return;
  }
  raise(GP, 0, true);
}

// Deliver the fault the current instruction raised (EIP is back at its start).
function deliverFault(rec: u32): void {
  const v = faultVector, c = faultCode, h = faultHasCode;
  clearAbort();
  const lin = segBase(SEG_CS) + eip();
  store<u32>(ACTIVE + S_LAST_EIP, lin);
  store<u32>(ACTIVE + S_LAST_OPCODE, rec ? load<u32>(rec + R_BYTES) : 0);
  store<u32>(ACTIVE + S_LAST_FLAGS, (rec ? DetailFlag.HasOpcode : 0) | load<u32>(EXIT_DETAIL_FLAGS));
  store<u32>(EXIT_DETAIL_FLAGS, 0);
  bump(Counter.Exceptions);
  if (TRACING) traceEvent(TraceKind.Exception, v, c, h ? 1 : 0);
  exception(v, h, c);
}

// The instruction at `rec` stopped half-way (a fault, or an MMIO read the host
// must answer): roll back to its start and deliver its fault. Returns 1 when a
// fault was delivered (it counts against the budget).
function abandon(rec: u32, replaying: bool): u32 {
  setEip(insnStart); // the start of this instruction, or of the task it switched to
  mmioDropWrites(); // it faults or starts over: its queued writes never happened
  if (exitReason == ExitReason.Error) { clearAbort(); return 0; }
  if (abort == Abort.MmioRead) { clearAbort(); requestExit(ExitReason.Mmio); return 0; }
  if (exitReason == ExitReason.Mmio) clearExit(); // the buffered write is dropped with the instruction
  if (replaying) mmioReplayDone();
  deliverFault(rec);
  return 1;
}

// Copy the last exception into the exit record, for crash reports.
function reportDetail(): void {
  store<u32>(EXIT_DETAIL_VECTOR, load<u32>(ACTIVE + S_LAST_VECTOR));
  if (exitReason == ExitReason.Shutdown) store<u32>(EXIT_DETAIL_ERROR, load<u32>(ACTIVE + S_LAST_ERROR));
  store<u32>(EXIT_DETAIL_EIP, load<u32>(ACTIVE + S_LAST_EIP));
  store<u32>(EXIT_DETAIL_OPCODE, load<u32>(ACTIVE + S_LAST_OPCODE));
  store<u32>(EXIT_DETAIL_FLAGS, load<u32>(ACTIVE + S_LAST_FLAGS));
}

// Set by runRecords when the instruction it stopped at faulted (or must be
// restarted for the host's MMIO answer): the caller abandons it.
let blockFaulted = false;
// The record runRecords stopped at when blockFaulted, and the block it ran last.
let stopRec: u32 = 0;
let lastBlock: u32 = 0;

// Run the records [rec, end) of block `blk` from EIP. With `chain`, go on into
// the block this one led to last time (chain.ts) while that needs nothing of
// run()'s loop: no fault, nothing that stopped the block (an exit, a CS or
// EFLAGS change...: stopChain), no interrupt shadow or TF, the whole block within
// `budgetEnd` retired. run() sees no pending interrupt or NMI before it asks
// for `chain`, and only the host (between runs) or run() itself makes one.
// A jump taken to a record of the same block (resolveTargets) goes on there
// under the same conditions (position.ts jumpInBlock): a hot one in runLoop's
// case itself; a cold one's handler sets the stop word to STOP_JUMP (no EIP)
// when JUMP_OK, which this loop sets and breakChains clears, allows it.
// Its own function (not inlined into run). The loop carries only `rec` (and
// its end). An instruction's EIP is the
// block's first plus its offset (R_OFF), its retired count rec / RECORD_SIZE
// + k; position.ts keeps the first and k. The handler stores them when it is
// marked Sync (in its own function, so no per-instruction test here), a Branch
// handler EIP when it jumps, this loop the rest at a fault and at the end.
function runRecords(blk: u32, rec: u32, end: u32, ipMask: u32, chain: bool, budgetEnd: u32): void {
  setPos((eip() - load<u8>(rec + R_OFF)) & ipMask, ipMask, retired - rec / RECORD_SIZE);
  // jumps inside a block: not with the JIT (it counts and enters blocks
  // through run()), nor in a trace (it shows each block looked up), nor in a
  // block cut short by the budget; breakChains stops them (chain.ts)
  const inner = chain && !TRACING && !jitOn;
  allowJumps(inner && end == blk + BLOCK_HEADER + load<u32>(blk + B_COUNT) * RECORD_SIZE);
  // the most k may grow to with the rest of the block still within the budget
  let kMax = budgetEnd - end / RECORD_SIZE;
  blockFaulted = false;
  while (true) {
    while (rec < end) {
      if (TRACING) {
        traceEvent(TraceKind.Insn, segBase(SEG_CS) + ((posBase() + load<u8>(rec + R_OFF)) & ipMask), load<u8>(rec + R_LEN), code32() ? 1 : 0);
        execute(rec);
        if (!stopOrAbort()) { rec += RECORD_SIZE; continue; }
      } else {
        rec = runLoop(rec, end, kMax);
        if (rec >= end) break;
      }
      // the record at rec stopped the block
      if (load<u8>(STOP_WORD) == STOP_JUMP) {
        // a cold jump taken to a record of this block (execute.ts relJump)
        store<u8>(STOP_WORD, 0);
        const to = jumpInBlock(rec, kMax);
        if (to != 0) { rec = to; continue; }
        // (past the budget: a taken jump, to the target resolveTargets found)
        setEip((posBase() + load<u8>(rec + R_OFF) + load<u8>(rec + R_LEN) + load<u32>(rec + R_DISP)) & ipMask);
        jumped();
      } else if (abort != Abort.None) {
        allowJumps(false);
        blockFaulted = true;
        stopRec = rec;
        lastBlock = blk;
        // a Sync handler set the start itself (a task switch moves it)
        if (!(load<u8>(rec + R_HFLAGS) & HFlag.Sync)) setInsnStart((posBase() + load<u8>(rec + R_OFF)) & ipMask);
        setRetired(rec / RECORD_SIZE + posK());
        return;
      }
      rec += RECORD_SIZE;
      break;
    }
    const lastRec = rec - RECORD_SIZE;
    const done = rec / RECORD_SIZE + posK();
    // after a Sync handler EIP is its own (a jump's target); a Branch handler
    // sets it only when it jumps, which stops the block
    const hf = load<u8>(lastRec + R_HFLAGS);
    const synced = (hf & HFlag.Sync) != 0 || ((hf & HFlag.Branch) != 0 && stopBlock);
    const lastIp = (posBase() + load<u8>(lastRec + R_OFF)) & ipMask;
    const ip = synced ? eip() : (lastIp + load<u8>(lastRec + R_LEN)) & ipMask;
    // (no need to look at the interrupt shadow or TF: run() passes `chain` only
    // without either, and what sets either (STI, MOV/POP SS, POPF, IRET) stops the
    // chain; a block that crosses a page is never the target of a link)
    const to = chain && !stopChain ? chained(blk, ip) : 0;
    // (with the JIT, a block with a region goes back to run(), which enters it)
    if (to == 0 || done + load<u32>(to + B_COUNT) > budgetEnd || (!TRACING && jitOn && !jitInterprets(to, ip, done))) {
      allowJumps(false);
      lastBlock = blk;
      setRetired(done);
      if (!synced) setEip(ip);
      // (a Sync handler set the start itself; a Branch one's exit, an MMIO write
      // of its push, reports it)
      if (!(hf & HFlag.Sync)) setInsnStart(lastIp);
      return;
    }
    const count = load<u32>(to + B_COUNT);
    clearStop(); // a jump's
    blk = to;
    rec = blk + BLOCK_HEADER;
    end = rec + count * RECORD_SIZE;
    setPos(ip, ipMask, done - rec / RECORD_SIZE);
    kMax = budgetEnd - end / RECORD_SIZE;
    allowJumps(inner);
  }
}

// Run the active vCPU for at most `budget` instructions.
export function run(budget: u32): void {
  clearExit();
  clearAbort();
  clearStop();
  setRetired(0);
  completePendingIo();
  mmioNextWrite(); // a write the last instruction queued leaves before anything runs
  let replaying = mmioReplayStart(); // the first instruction runs again with the host's MMIO answers
  // exceptions delivered use budget too: a guest that faults forever (a #UD
  // handler that is itself #UD) still returns to the host
  let faults: u32 = 0;
  breakChains(); // the host may have changed anything since the last entry
  let prev: u32 = 0; // the block that ran last, when it can be linked from
  while (exitReason == ExitReason.None) {
    if (retired + faults >= budget) { requestExit(ExitReason.Budget); break; }
    const flags = load<u32>(ACTIVE + S_EFLAGS);
    let shadow = load<u32>(ACTIVE + S_SHADOW) != 0;
    // an NMI is taken at the first boundary outside an interrupt shadow, whatever
    // IF says; NMIs are then blocked until the next IRET (SDM vol. 3, 6.7.1)
    if (load<u32>(ACTIVE + S_NMI) == NmiBit.Pending && !shadow) {
      store<u32>(ACTIVE + S_NMI, NmiBit.Blocked);
      if (replaying) replaying = mmioReplayDone();
      bump(Counter.Interrupts);
      if (TRACING) traceEvent(TraceKind.Interrupt, NMI_VECTOR, eip(), 0);
      interrupt(NMI_VECTOR, Source.External, eip());
      if (exitReason != ExitReason.None) break;
      continue;
    }
    // an injected interrupt is taken at this boundary when IF allows
    const irq = load<i32>(ACTIVE + S_IRQ);
    if (irq < 0 && (flags & IF) && !shadow && load<u32>(ACTIVE + S_IRQ_WINDOW)) {
      // the host holds an interrupt for this vCPU: the window is open, let it offer it
      store<u32>(ACTIVE + S_IRQ_WINDOW, 0);
      requestExit(ExitReason.IrqWindow);
      break;
    }
    if (irq >= 0 && (flags & IF) && !shadow) {
      store<i32>(ACTIVE + S_IRQ, -1);
      if (replaying) replaying = mmioReplayDone(); // it will start over after the handler
      bump(Counter.Interrupts);
      if (TRACING) traceEvent(TraceKind.Interrupt, <u32>irq, eip(), 0);
      interrupt(<u32>irq, Source.External, eip());
      if (exitReason != ExitReason.None) break;
      continue;
    }
    if (load<u32>(ACTIVE + S_HALTED)) { requestExit(ExitReason.Hlt); break; }
    // nothing waits to be taken at a boundary: runRecords may go on from block to block
    const quiet = irq < 0 && !load<u32>(ACTIVE + S_IRQ_WINDOW) && !(load<u32>(ACTIVE + S_NMI) & NmiBit.Pending);
    const start = eip();
    let blk = prev ? chained(prev, start) : 0;
    if (blk == 0) {
      blk = currentBlock();
      if (blk == 0) {
        prev = 0;
        if (exitReason != ExitReason.None) { clearAbort(); break; }
        if (!aborted()) continue; // the next code page was just mapped: decode again
        setEip(start);
        faults++;
        deliverFault(0);
        continue;
      }
      if (prev && !load<u32>(blk + B_CROSS)) link(prev, start, blk);
    }
    prev = blk;
    const count = load<u32>(blk + B_COUNT);
    let n = count;
    const single = shadow || (flags & TF) != 0;
    // one instruction at a time when single-stepping or when the first one is an MMIO replay
    if (single || replaying) n = 1;
    if (n > budget - retired - faults) n = budget - retired - faults;
    clearStop();
    // every CS load ends the block, so the code size holds for all of it
    const ipMask: u32 = code32() ? 0xFFFFFFFF : 0xFFFF;
    let rec = blk + BLOCK_HEADER;
    let end = rec + n * RECORD_SIZE;
    if (!TRACING && jitOn && !single && !replaying) {
      // the block's compiled region (jit/tier.ts) runs first; the interpreter goes on from where it left
      const first = jitRun(blk, count, budget - retired - faults);
      // a region it chained to may have stopped inside its own block: go on there
      if (jitBlock != blk) { blk = jitBlock; rec = blk + BLOCK_HEADER; }
      rec += first * RECORD_SIZE;
      // (a fault past the block's records: in a block its region took in, reported from BAIL_RECORD)
      if (aborted()) { faults += abandon(first < load<u32>(blk + B_COUNT) ? rec : BAIL_RECORD, false); continue; }
      end = rec + min(load<u32>(blk + B_COUNT) - first, budget - retired - faults) * RECORD_SIZE;
    }
    if (rec < end) {
      const before = retired;
      runRecords(blk, rec, end, ipMask, quiet && !single && !replaying, budget - faults);
      if (blockFaulted) {
        if (abandon(stopRec, replaying)) { replaying = false; faults++; }
      } else if (retired > before && replaying) replaying = mmioReplayDone();
      // chained blocks may have run after blk: the last one is the one to link from
      prev = lastBlock;
    }
    if (shadow) store<u32>(ACTIVE + S_SHADOW, 0);
    if (single && (flags & TF) && exitReason == ExitReason.None && !aborted()) {
      singleStepTrap(eip());
    }
  }
  if (jitOn) jitEnded(); // an exit counts against the block that made it; hot blocks found are compiled now, run next time
  store<u32>(EXIT_RETIRED, retired);
  store<u64>(ACTIVE + S_INSTRET, load<u64>(ACTIVE + S_INSTRET) + <u64>retired);
  store<u32>(EXIT_INSN_EIP, insnStart);
  if (exitReason == ExitReason.Shutdown || exitReason == ExitReason.Error) reportDetail();
}
