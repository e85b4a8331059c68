// Tiering: decoded blocks are counted as the interpreter runs them; a block
// that reaches the threshold is compiled (jit/region.ts) into the pending
// batch. The batch becomes one WebAssembly module that the host compiles and
// instantiates (env.jitCompile), putting each region's function in the table
// the core calls through `call_indirect`; or compiles off the main thread and
// hands it back when run() returns (env.jitCollect). Until then the block
// keeps running in the interpreter. A block decoded again because its code page was written
// forgets its region: invalidation rides on the code-page generations the
// block cache already checks. A block evicted by another is remembered (a
// ghost) with its hits and its region, and gets them back when it is decoded
// again from the same code.
import {
  JIT_QUEUE, JIT_QUEUE_MAX, JIT_DONE, JIT_COMPILING_MAX, JIT_BODIES, JIT_BODIES_SIZE, JIT_MODULE,
  JIT_MODULE_SIZE, JIT_TABLE_BASE, JIT_STOP, JIT_CHAIN, TLB_READ, TLB_WRITE, TlbBit, Counter, ACTIVE as ACTIVE_STATE, S_COUNTERS,
  JIT_REGIONS, JIT_GHOSTS, JIT_GHOST_COUNT, JIT_FREE, S_INSTRET, RECORD_SIZE, JIT_LINKS, JIT_LINK_MAX, JIT_SEGS,
  S_SEG, SEG_CS, SEG_SIZE, SEG_BASE,
} from "../layout";
import { R_LEN, R_OFF, R_BYTES } from "../cpu/decode";
import { execute } from "../cpu/dispatch.generated";
import { setEip, eip } from "../cpu/state";
import { setInsnStart, setRetired, retired } from "../cpu/context";
import { setPos } from "../cpu/position";
import { abort, Abort, stopBlock, exitReason, aborted } from "../cpu/fault";
import { ExitReason } from "../layout";
import { condition, carry } from "../cpu/flags";
import { shift } from "../cpu/alu";
import { cpuid, readTsc } from "../cpu/system";
import { inlineIo } from "../cpu/io";
import { dataAccess, tlbAccess, translate, ramSize, pageGeneration } from "../cpu/memory";
import { trappedWrite, NO_TRAP } from "../mmu/shadow";
import {
  compileRegion, DONE, AT_EIP, NO_ROOM, membersTaken, IMPORTS, HELPERS, REGION_TYPE, F_CARRY, FILL_READ, FILL_WRITE, FILL_BYTES_SHIFT, BAIL_RECORD, F_LINK0, MAX_LINKS, NO_GENERATION,
  linkCount, links, L_PHYS, L_GEN_AT, L_COUNT_AT, L_FN_AT, L_SIZE, hintCount, hints, MAX_HINTS,
} from "./region";
import { startAt, pos, overflow, byte, uleb, reserve5, patch5, patchS5, name, I32, VOID, W, op, get, set, tee, i32c, mem, call } from "./emit";
import { ACTIVE, S_EFLAGS, S_LAZY_OP, S_LAZY_SIZE, S_LAZY_A, S_LAZY_B, S_LAZY_R } from "../layout";
import { LazyOp } from "../cpu/flags";

// Block header fields the JIT owns (run.ts owns 0..19).
import { B_PHYS, B_KEY, B_GEN, B_COUNT, B_CROSS, blockSlot } from "../cpu/run";
// table index of the block's region, 0 = none
export const B_JIT: u32 = 20;
const B_HITS: u32 = 24; // interpreted: runs | runs that ended in an exit << 16; compiled: runs | bad runs << 16
const NEVER: u32 = 0xFFFFFFFF; // hits value: compiled, or not worth it
const QUEUED: u32 = 0xFFFFFFFE; // hits value: compiled into the pending batch
const COMPILING: u32 = 0xFFFFFFFD; // hits value: in a batch the host compiles off the main thread

// Queue entry fields.
const Q_TABLE: u32 = 0; // read by the host
const Q_BLOCK: u32 = 4;
const Q_PHYS: u32 = 8;
const Q_KEY: u32 = 12;
const Q_GEN: u32 = 16;
const Q_COUNT: u32 = 20;
const Q_LINKS: u32 = 28; // its links (region.ts): their target and patch points are in batchLinks
const Q_SIZE: u32 = 32;
// Per queued region, MAX_LINKS links as region.ts keeps them, their patch
// points made offsets in the bodies.
const batchLinks: usize = memory.data(JIT_QUEUE_MAX * MAX_LINKS * L_SIZE);
// Per queued region, its branch hints (region.ts): a count, then MAX_HINTS offsets.
const HINTS_SIZE: u32 = 4 + MAX_HINTS * 4;
const batchHints: usize = memory.data(JIT_QUEUE_MAX * HINTS_SIZE);

export let jitOn: bool = false;
let threshold: u32 = 1000;
let queued: u32 = 0;
let bodiesEnd: u32 = JIT_BODIES;
let jitBase: u32 = 0; // retired when the running region was entered
let queuedAt: u64 = 0; // instructions retired when the first queued region was compiled

// Instructions retired by this vCPU so far (run() adds `retired` to S_INSTRET when it returns).
@inline function now(): u64 { return load<u64>(ACTIVE + S_INSTRET) + <u64>retired; }

// A batch is compiled when it holds BATCH regions, when its first region
// has waited threshold² instructions (1M at 1000; a low threshold asks for
// regions early, and tests use 2), or when the interpreter has run threshold
// x 128 instructions (128k) in blocks that wait in it, checked when the
// interpreter counts a block and when run() returns. A module costs V8 ~0.5-1
// ms whatever it holds (it maps and clears a code space for each), and run()
// returns every few thousand instructions in a kernel's boot; but a loop whose
// block waits in the batch (a hot loop that has just reached the threshold)
// would otherwise stay interpreted for the whole wait, and 128k interpreted
// instructions cost about what the module does.
const BATCH: u32 = 16;
let waitMax: u64 = 1000 * 1000;
let hotWaitMax: u32 = 1000 * 128;
let hotWaited: u32 = 0; // instructions the interpreter ran in queued blocks since the batch began

// Statistics (--stats).
let statCompiled: u64 = 0;      // regions installed
let statInstructions: u64 = 0;  // instructions retired in compiled code
let statInvalidated: u64 = 0;   // compiled regions dropped because their block was decoded again
let statRejected: u64 = 0;      // hot blocks not compiled (too few instructions with an emitter)
let statBatches: u64 = 0;       // modules the host compiled
let statDemoted: u64 = 0;       // regions dropped because they mostly stopped early
let statExitBound: u64 = 0;     // hot blocks not compiled because their runs mostly ended in an exit
let statRestored: u64 = 0;      // regions given back to a block decoded again after an eviction
let statMembers: u64 = 0;       // blocks taken into the regions compiled (region.ts extendRegion)

// A region that stops early (leaves before an instruction it cannot do, or
// ends in an exit) costs more than interpreting its block: after DEMOTE_AFTER
// runs, one with more than a quarter of bad runs goes back to the interpreter
// for as long as its block stays decoded.
const DEMOTE_AFTER: u32 = 256;

let demote: bool = true;
export function setJit(on: bool, hot: u32, demoteEarlyStops: bool): void {
  jitOn = on; threshold = hot > 0 ? min(hot, 0xFFFF) : 1; demote = demoteEarlyStops;
  waitMax = <u64>threshold * <u64>threshold;
  hotWaitMax = threshold * 128;
}

// The block the interpreter counted last: when run() returns with an exit, it
// is the block that exited (jitEnded).
let counted: u32 = 0;
let runEip: u32 = 0; // ... and the EIP it runs at (a region compiled now guesses where its exits lead from it)
// The first block the interpreter counted in this run(): where the run resumed
// after the previous exit (jitEnded).
let resumed: u32 = 0;
// A run() that retires fewer instructions than this between two exits is an
// exit loop: compiling its code would save less than one exit costs.
const SHORT_RUN: u32 = 16;

export function jitStat(i: u32): f64 {
  switch (i) {
    case 0: return <f64>statCompiled;
    case 1: return <f64>statInstructions;
    case 2: return <f64>statInvalidated;
    case 3: return <f64>statRejected;
    case 4: return <f64>statBatches;
    case 5: return <f64>statDemoted;
    case 6: return <f64>statExitBound;
    case 7: return <f64>statRestored;
    case 8: return <f64>statMembers;
    default: return 0;
  }
}

// ---- region table indices ----
// A region's function sits at a table index it keeps while its block is
// decoded, remembered (a ghost) or queued: JIT_REGIONS indices are enough for
// all of them at once. Free ones are on a stack at JIT_FREE; `fresh` counts
// those never used.
let freeTop: u32 = 0;
let fresh: u32 = 0;
function takeIndex(): u32 {
  if (freeTop != 0) return load<u32>(JIT_FREE + --freeTop * 4);
  return fresh < JIT_REGIONS ? JIT_TABLE_BASE + fresh++ : 0;
}
@inline function freeIndex(fn: u32): void { store<u32>(JIT_FREE + freeTop++ * 4, fn); }

// ---- ghosts: blocks evicted from the block cache ----
// The block cache is direct-mapped, and a kernel's code does not fit in it:
// without ghosts, a hot block evicted by a cold one came back with no hits and
// no region, and much of Linux's boot stayed interpreted that way. An evicted
// block's hits and region go to a ghost (two per set, keyed like the block:
// guest-physical address and code size); the block decoded again from the
// same generation of its page (same bytes, same records) takes them back.
// What a ghost shares with a block header sits at the header's offset
// (cpu/run.ts B_PHYS 0, B_KEY 4, B_GEN 8, B_COUNT 12; B_JIT 20): a queued
// block is checked and installed alike in either (queuedBlock). (Literals:
// run.ts imports this file, and its constants are not yet declared here.)
const G_PHYS: u32 = 0;
const G_KEY: u32 = 4; // 0: empty
const G_GEN: u32 = 8;
const G_COUNT: u32 = 12;
const G_HITS: u32 = 16;
const G_JIT: u32 = 20;
const G_WORTH: u32 = 24; // what it is worth keeping: halved each time its set takes another ghost
const G_SIZE: u32 = 32;

@inline function ghostSet(phys: u32, key: u32): u32 {
  const h = ((phys ^ (key << 31)) * 0x85EBCA6B) >>> 19; // 13 bits: JIT_GHOST_COUNT / 2 sets
  return JIT_GHOSTS + (h & (JIT_GHOST_COUNT / 2 - 1)) * 2 * G_SIZE;
}

// Remember the block leaving slot blk (still in the header). A region is worth
// more than any count of hits: it cost a compile.
function remember(blk: u32): void {
  const fn = load<u32>(blk + B_JIT), hits = load<u32>(blk + B_HITS);
  const worth: u32 = fn ? 0x10000 : (hits >= COMPILING ? 0x100 : hits & 0xFFFF);
  if (worth == 0) return;
  const phys = load<u32>(blk + B_PHYS), key = load<u32>(blk + B_KEY);
  const set = ghostSet(phys, key);
  const w0 = load<u32>(set + G_WORTH), w1 = load<u32>(set + G_SIZE + G_WORTH);
  const e = w0 <= w1 ? set : set + G_SIZE;
  const other = w0 <= w1 ? set + G_SIZE : set;
  store<u32>(other + G_WORTH, load<u32>(other + G_WORTH) >>> 1);
  if (load<u32>(e + G_KEY) && load<u32>(e + G_JIT)) { freeIndex(load<u32>(e + G_JIT)); statInvalidated++; }
  store<u32>(e + G_PHYS, phys);
  store<u32>(e + G_KEY, key);
  store<u32>(e + G_GEN, load<u32>(blk + B_GEN));
  store<u32>(e + G_COUNT, load<u32>(blk + B_COUNT));
  store<u32>(e + G_HITS, hits);
  store<u32>(e + G_JIT, fn);
  store<u32>(e + G_WORTH, worth);
}

// The ghost of (phys, key), or 0.
function ghostOf(phys: u32, key: u32): u32 {
  const set = ghostSet(phys, key);
  if (load<u32>(set + G_KEY) == key && load<u32>(set + G_PHYS) == phys) return set;
  const e = set + G_SIZE;
  if (load<u32>(e + G_KEY) == key && load<u32>(e + G_PHYS) == phys) return e;
  return 0;
}

// Slot blk is about to take the block (phys, key): the block it holds leaves.
// Evicted from a page it is still current for, it becomes a ghost; decoded
// again (its page was written) or stale, its region is dropped.
export function jitEvict(blk: u32, phys: u32, key: u32): void {
  const oldKey = load<u32>(blk + B_KEY), oldPhys = load<u32>(blk + B_PHYS);
  if (oldKey != 0 && (oldPhys != phys || oldKey != key) && load<u32>(blk + B_GEN) == pageGeneration(oldPhys)) {
    remember(blk);
  } else {
    const fn = load<u32>(blk + B_JIT);
    if (fn) { freeIndex(fn); statInvalidated++; }
  }
  store<u32>(blk + B_JIT, 0);
}

// The block at blk was just decoded: it starts counting, unless it is a ghost
// decoded from the same code, which takes its hits and region back.
export function jitForget(blk: u32): void {
  store<u32>(blk + B_JIT, 0);
  store<u32>(blk + B_HITS, 0);
  const key = load<u32>(blk + B_KEY);
  const e = ghostOf(load<u32>(blk + B_PHYS), key);
  if (!e) return;
  const fn = load<u32>(e + G_JIT);
  if (load<u32>(e + G_GEN) == load<u32>(blk + B_GEN) && load<u32>(e + G_COUNT) == load<u32>(blk + B_COUNT)) {
    store<u32>(blk + B_JIT, fn);
    store<u32>(blk + B_HITS, load<u32>(e + G_HITS));
    if (fn) statRestored++;
  } else if (fn) { freeIndex(fn); statInvalidated++; }
  store<u32>(e + G_KEY, 0);
  store<u32>(e + G_WORTH, 0);
}

// The block the interpreter goes on in after jitRun: blk, or the block of a
// region it chained to that stopped before one of its records.
export let jitBlock: u32 = 0;

// Run the block's region if it has one; count it otherwise. Returns the
// first record of jitBlock the interpreter must run (blk's count: none).
// `room` is what the budget still allows; a region runs only when the whole
// block fits.
export function jitRun(blk: u32, count: u32, room: u32): u32 {
  jitBlock = blk;
  const fn = load<u32>(blk + B_JIT);
  if (fn == 0) { runEip = eip(); interpreted(blk); return 0; }
  counted = 0;
  if (count > room) return 0;
  jitBase = retired;
  store<u32>(JIT_SEGS, 0); // (the run loop may have run anything: the regions check the segments again)
  let packed = call_indirect<u32>(fn, room, dataAccess, 0);
  // a pure region that finished and left for a block with a region names it
  // (region.ts chainCode): run it now, without the run loop's checks between blocks
  let next = load<u32>(JIT_CHAIN);
  while (next != 0) {
    store<u32>(JIT_CHAIN, 0);
    packed = call_indirect<u32>(next, room, dataAccess, packed >>> 5);
    next = load<u32>(JIT_CHAIN);
  }
  const done = packed >>> 5;
  setRetired(jitBase + done);
  statInstructions += done;
  const resume = packed & 31;
  if (resume != DONE) jitBlock = load<u32>(JIT_STOP);
  // (a region it chained to that stopped in its own block does not count against this one,
  // nor does a stop in a block a region took in: that block's own region answers for it)
  const finished = resume == DONE || resume == AT_EIP || resume == NO_ROOM || jitBlock != blk;
  // stopped in a block it took in: nothing of a block left to run, the run loop goes on at EIP
  if (resume == AT_EIP) jitBlock = blk;
  const runs = load<u32>(blk + B_HITS) + 1 + (finished && exitReason == ExitReason.None ? 0 : 0x10000);
  if ((runs & 0xFFFF) < DEMOTE_AFTER) store<u32>(blk + B_HITS, runs);
  else if ((runs >>> 16) * 4 > DEMOTE_AFTER && demote) { // back to the interpreter
    freeIndex(fn);
    store<u32>(blk + B_JIT, 0);
    store<u32>(blk + B_HITS, NEVER);
    statDemoted++;
  } else store<u32>(blk + B_HITS, 0);
  return resume == DONE || resume == AT_EIP ? count : (resume == NO_ROOM ? 0 : resume);
}

// The interpreter runs block blk (it has no region): count the run, and
// compile the block at the threshold.
function interpreted(blk: u32): void {
  const hits = load<u32>(blk + B_HITS);
  counted = blk;
  if (resumed == 0) resumed = blk;
  if (queued != 0) {
    if (hits == QUEUED) hotWaited += load<u32>(blk + B_COUNT);
    if (hotWaited >= hotWaitMax) jitFlush(true);
    else if (now() - queuedAt >= waitMax) jitFlush();
  }
  if (hits >= COMPILING) return;
  if ((hits & 0xFFFF) + 1 < threshold) store<u32>(blk + B_HITS, hits + 1);
  else if ((hits >>> 16) * 4 > (hits & 0xFFFF) && demote) { // it would be demoted: not worth a compile
    store<u32>(blk + B_HITS, NEVER);
    statExitBound++;
  } else enqueue(blk, load<u32>(blk + B_COUNT));
}

// The record loop (cpu/run.ts runRecords) may go on into block blk itself,
// as it does without the JIT, when blk has no region (its run is counted);
// a block with a region goes back to the run loop, which enters the region.
// `done`: the instructions this run() retired so far, which the record loop
// keeps to itself until it returns (the batch's wait is counted in them).
export function jitInterprets(blk: u32, ip: u32, done: u32): bool {
  if (load<u32>(blk + B_JIT)) return false;
  runEip = ip;
  setRetired(done);
  interpreted(blk);
  return true;
}

// ---- what a region calls back ----
// Run record `rec` (starting at `ip`) with its interpreter handler, with
// `done` instructions of the region retired before it.
// 0: go on; 1: retired, and the block ends (a jump, a mode change, an exit);
// 2: it aborted (a fault, an MMIO read): nothing retired, run.ts handles it.
export function jitStep(rec: u32, ip: u32, done: u32): u32 {
  setRetired(jitBase + done);
  setInsnStart(ip);
  const next = ip + load<u8>(rec + R_LEN); // regions are 32-bit code: no wrap at 64 KiB
  setEip(next);
  // (a Sync handler stores the same EIP, start and retired count from these)
  setPos(ip - load<u8>(rec + R_OFF), 0xFFFFFFFF, jitBase + done - rec / RECORD_SIZE);
  execute(rec);
  if (abort != Abort.None) return 2;
  return stopBlock || eip() != next ? 1 : 0;
}
export function jitCond(cc: u32): u32 { return condition(cc) ? 1 : 0; }
export function jitCarry(): u32 { return carry(); }
export function jitCpuid(): u32 { cpuid(); return 0; }
export function jitRdtsc(done: u32): u32 { readTsc(jitBase + done); return 0; }
// An IN or OUT to an inline port (cpu/io.ts), `done` instructions of the
// region retired with it.
export function jitPort(dir: u32, port: u32, bytes: u32, value: u32, done: u32): u32 {
  return inlineIo(dir, port, bytes, value, jitBase + done);
}

// A memory operand of the instruction at `ip` missed the TLB (or crosses a
// page: `how` carries its size): walk the guest's tables and fill the entry as
// the interpreter's access would (a read-modify-write walks for the read
// first), and return the entry (TLB_READ's for a read, TLB_WRITE's otherwise)
// for the region to go on with. Returning 0, or an entry without the access
// bit, makes the region leave before the record: a page crossing (before any
// walk, as the interpreter's access splits it), MMIO (never in
// the TLB), a watched page (code, page tables: its writes trap), alignment
// checks (every access takes the slow path), or a fault, which stays raised
// (for the run loop to deliver, with the instruction's start at `ip`). A walk
// whose accessed/dirty update wrote into decoded code ends the block after
// this record, as in the interpreter: it leaves before the record, whose
// interpreted run then stops the block.
export function jitFill(lin: u32, how: u32, ip: u32, bytes: u32): u32 {
  // an access across a page, or any under alignment checks: the interpreter's
  if (dataAccess == 0 || (lin & 0xFFF) + (how >> FILL_BYTES_SHIFT) > 0x1000) return 0;
  const entry = filled(lin, how & ((1 << FILL_BYTES_SHIFT) - 1), ip);
  // a fault in a block the region took in is reported with its opcode bytes (run.ts)
  if (aborted()) store<u32>(BAIL_RECORD + R_BYTES, bytes);
  return entry;
}
function filled(lin: u32, how: u32, ip: u32): u32 {
  const user = tlbAccess == TlbBit.User;
  const stopped = stopBlock;
  const slot = (lin >>> 12) << 2;
  if (how != FILL_WRITE && !(load<u32>(TLB_READ + slot) & tlbAccess) && !walked(lin, false, user, ip, stopped)) return 0;
  if (how == FILL_READ) return load<u32>(TLB_READ + slot);
  if (!(load<u32>(TLB_WRITE + slot) & tlbAccess)) {
    if (trappedWrite(lin, user) != NO_TRAP) return 0; // a watched page: the interpreter's write traps
    if (!walked(lin, true, user, ip, stopped)) return 0;
  }
  return load<u32>(TLB_WRITE + slot);
}
// One walk for jitFill: false when the region must leave (a fault, raised
// with the instruction's start at ip; MMIO, which the interpreter walks for
// again, so the walk is not counted twice; a walk that wrote into code).
function walked(lin: u32, write: bool, user: bool, ip: u32, stopped: bool): bool {
  const walks = walkCount();
  const p = translate(lin, write, user);
  if (aborted()) { setInsnStart(ip); return false; }
  if (p >= ramSize) { unwalk(walks); return false; }
  return stopBlock == stopped;
}
// The guest-walk counter (mmu/counters.ts), so that a walk the interpreter
// repeats (an MMIO access) counts once.
@inline function walkCount(): u64 { return load<u64>(ACTIVE_STATE + S_COUNTERS + (<u32>Counter.GuestWalks << 3)); }
@inline function unwalk(walks: u64): void { store<u64>(ACTIVE_STATE + S_COUNTERS + (<u32>Counter.GuestWalks << 3), walks); }
// The interpreter's shift: SHL/SHR/SAR leave the lazy Shift record, a rotate
// EFLAGS with no lazy record (region.ts memNone says which it counts on).
export function jitShift(op: u32, sz: u32, v: u32, count: u32): u32 {
  return shift(op, sz, v, count);
}

// ---- batches ----

function enqueue(blk: u32, count: u32): void {
  store<u32>(blk + B_HITS, NEVER);
  // regions are 32-bit code (EIP never wraps at 64 KiB, operand and address
  // size 32 unless prefixed); 16-bit code stays in the interpreter
  // (nor is a block crossing a page: only the run loop checks its second page)
  if (!(load<u32>(blk + B_KEY) & 1) || load<u32>(blk + B_CROSS)) { statRejected++; return; }
  if (queued >= JIT_QUEUE_MAX || bodiesEnd + 0x10000 > JIT_BODIES + JIT_BODIES_SIZE) jitFlush();
  startAt(bodiesEnd, JIT_BODIES + JIT_BODIES_SIZE);
  if (!compileRegion(blk, count, load<u32>(ACTIVE + S_SEG + SEG_CS * SEG_SIZE + SEG_BASE) + runEip) || overflow) { statRejected++; return; }
  statMembers += membersTaken;
  const index = takeIndex();
  if (!index) { statRejected++; return; } // (cannot happen: JIT_REGIONS covers every owner)
  bodiesEnd = pos;
  if (queued == 0) queuedAt = now();
  const q = JIT_QUEUE + queued * Q_SIZE;
  store<u32>(q + Q_TABLE, index);
  store<u32>(q + Q_BLOCK, blk);
  store<u32>(q + Q_PHYS, load<u32>(blk + B_PHYS));
  store<u32>(q + Q_KEY, load<u32>(blk + B_KEY));
  store<u32>(q + Q_GEN, load<u32>(blk + B_GEN));
  store<u32>(q + Q_COUNT, count);
  store<u32>(q + Q_LINKS, linkCount);
  for (let k: u32 = 0; k < linkCount; k++) {
    const from = links + k * L_SIZE, to = batchLinks + (queued * MAX_LINKS + k) * L_SIZE;
    store<u32>(to + L_PHYS, load<u32>(from + L_PHYS));
    for (let f = L_GEN_AT; f <= L_FN_AT; f += 4) store<u32>(to + f, load<u32>(from + f) - JIT_BODIES);
  }
  const h = batchHints + queued * HINTS_SIZE;
  store<u32>(h, hintCount);
  memory.copy(h + 4, hints, hintCount * 4);
  store<u32>(blk + B_HITS, QUEUED);
  queued++;
}

// run() returns: a block the interpreter ran last and that ended in an exit
// counts it (an exit's cost dwarfs what compiling a block saves, and a region
// that ends in an exit would be demoted); then the batch is compiled.
export function jitEnded(): void {
  if (counted != 0 && exitReason != ExitReason.None && exitReason != ExitReason.Budget) {
    countExit(counted);
    // a short run between two exits: the block it resumed in (the rest of an
    // exit loop, e.g. `dec; jnz` after an MMIO write) counts the exit too
    if (retired < SHORT_RUN && resumed != counted) countExit(resumed);
  }
  counted = 0;
  resumed = 0;
  if (compiling != 0) collect();
  if (queued >= BATCH || (queued != 0 && now() - queuedAt >= waitMax)) jitFlush();
}

@inline function countExit(blk: u32): void {
  const hits = load<u32>(blk + B_HITS);
  if (hits != NEVER && hits < 0xFFFF0000) store<u32>(blk + B_HITS, hits + 0x10000);
}

// The host compiles the module at `at` (len bytes) and puts its function i
// at table index load<u32>(queue + 32 * i): INSTALLED when done, 0 when
// refused. With `offThread`, it may instead take a copy of the module and of
// the queue and compile on another thread (COMPILING); jitCollect hands the
// batch back.
@external("env", "jitCompile")
declare function hostCompile(at: u32, len: u32, queue: u32, n: u32, offThread: u32): u32;
const INSTALLED: u32 = 1;
const OFF_THREAD: u32 = 2;
// A batch compiled off the main thread that has finished (oldest first): its
// functions are in the table (or it was refused), its queue entries are back
// at `done`; returns n | 0x10000 when installed, n when refused, 0 when none
// has finished.
@external("env", "jitCollect")
declare function hostCollect(done: u32): u32;
let compiling: u32 = 0; // batches the host compiles off the main thread

// Install the batches that finished compiling off the main thread.
function collect(): void {
  for (let r = hostCollect(JIT_DONE); r != 0; r = hostCollect(JIT_DONE)) {
    compiling--;
    install(JIT_DONE, r & 0xFFFF, r >= 0x10000, COMPILING);
  }
}

// Build the module of the queued regions, have the host install it, and
// point each block that is still the one compiled at its function. A batch
// that hot blocks wait for (`urgent`) compiles at once; another may compile
// off the main thread, its blocks interpreted a while longer.
export function jitFlush(urgent: bool = false): void {
  if (queued == 0) return;
  const n = queued;
  startAt(JIT_MODULE, JIT_MODULE + JIT_MODULE_SIZE);
  byte(0); byte(0x61); byte(0x73); byte(0x6D); byte(1); byte(0); byte(0); byte(0);
  // types: 0 unused; 1 (i32 i32 i32) -> i32: regions and step; 2 cond and rdtsc; 3 carry and cpuid; 4 shift and fill; 5 port
  let s = section(1);
  uleb(6);
  sig(2); sig(3); sig(1); sig(0); sig(4); sig(5);
  patch5(s, pos - s - 5);
  s = section(2);
  uleb(F_LINK0 + 1 + JIT_LINK_MAX);
  // (no table: a module that imports the core's table costs V8 a walk of the whole
  // table to instantiate, and every table.set after it one more update per module)
  name("env"); name("memory"); byte(2); byte(0); uleb(0);
  name("env"); name("step"); byte(0); uleb(1);
  name("env"); name("cond"); byte(0); uleb(2);
  name("env"); name("carry"); byte(0); uleb(3);
  name("env"); name("shift"); byte(0); uleb(4);
  name("env"); name("port"); byte(0); uleb(5);
  name("env"); name("cpuid"); byte(0); uleb(3);
  name("env"); name("fill"); byte(0); uleb(4);
  name("env"); name("rdtsc"); byte(0); uleb(2);
  for (let m: u32 = 0; m < JIT_LINK_MAX; m++) { name("env"); numberedName(0x6C, m); byte(0); uleb(REGION_TYPE); } // "l<m>"
  patch5(s, pos - s - 5);
  s = section(3);
  uleb(HELPERS + n);
  uleb(3); // carry
  for (let i: u32 = 0; i < n; i++) uleb(REGION_TYPE);
  patch5(s, pos - s - 5);
  s = section(7);
  uleb(n);
  for (let i: u32 = 0; i < n; i++) {
    numberedName(0x66, i); // "f<i>"
    byte(0); uleb(IMPORTS + HELPERS + i);
  }
  patch5(s, pos - s - 5);
  hintSection(n);
  s = section(10);
  uleb(HELPERS + n);
  carryBody();
  const bodies = bodiesEnd - JIT_BODIES;
  const at = pos;
  if (at + bodies > JIT_MODULE + JIT_MODULE_SIZE) { // (cannot happen: the bodies' room is half the module's)
    for (let i: u32 = 0; i < n; i++) freeIndex(load<u32>(JIT_QUEUE + i * Q_SIZE + Q_TABLE));
    emptyBatch(); return;
  }
  memory.copy(at, JIT_BODIES, bodies);
  resolveLinks(n, at);
  startAt(at + bodies, JIT_MODULE + JIT_MODULE_SIZE);
  patch5(s, pos - s - 5);
  const len = pos - JIT_MODULE;
  const r = hostCompile(JIT_MODULE, len, JIT_QUEUE, n, !urgent && compiling < JIT_COMPILING_MAX ? 1 : 0);
  statBatches++;
  if (r == OFF_THREAD) {
    // its blocks go on in the interpreter, no longer counted as waiting in the batch
    for (let i: u32 = 0; i < n; i++) {
      const at = queuedBlock(JIT_QUEUE + i * Q_SIZE, QUEUED);
      if (at != 0) store<u32>(hitsOf(at), COMPILING);
    }
    compiling++;
  } else install(JIT_QUEUE, n, r == INSTALLED, QUEUED); // refused: its regions stay interpreted
  emptyBatch();
}
// Point each block of the batch whose entries are at `queue` that is still
// the code compiled and waits for it (its hits are `waiting`) at its function
// when the batch is `installed`; the other functions' indices are free again.
function install(queue: u32, n: u32, installed: bool, waiting: u32): void {
  for (let i: u32 = 0; i < n; i++) {
    const q = queue + i * Q_SIZE;
    const fn = load<u32>(q + Q_TABLE);
    const at = installed ? queuedBlock(q, waiting) : 0;
    if (at != 0) {
      store<u32>(at + B_JIT, fn);
      store<u32>(hitsOf(at), 0); // now: runs and bad runs
      if (at >= JIT_GHOSTS) store<u32>(at + G_WORTH, 0x10000);
      statCompiled++;
    } else freeIndex(fn);
  }
}
// The block of queue entry q, still in its slot or remembered as a ghost (an
// address at or above JIT_GHOSTS), if it is still the code compiled, has no
// region and its hits are `waiting`; otherwise 0.
function queuedBlock(q: u32, waiting: u32): u32 {
  let at = load<u32>(q + Q_BLOCK);
  const phys = load<u32>(q + Q_PHYS), key = load<u32>(q + Q_KEY);
  if (load<u32>(at + B_PHYS) != phys || load<u32>(at + B_KEY) != key) at = ghostOf(phys, key);
  return at != 0 && load<u32>(at + B_GEN) == load<u32>(q + Q_GEN) && load<u32>(at + B_COUNT) == load<u32>(q + Q_COUNT) &&
    load<u32>(hitsOf(at)) == waiting && load<u32>(at + B_JIT) == 0 ? at : 0;
}
// Where the hits of a block slot or a ghost (at or above JIT_GHOSTS) are.
@inline function hitsOf(at: u32): u32 { return at + (at >= JIT_GHOSTS ? G_HITS : B_HITS); }
// Patch each queued region's links (region.ts) in the module's copy of the
// bodies at `at`: to a region of this batch, to an installed region of an
// earlier module (imported: its table index goes to JIT_LINKS for the host),
// or to nothing.
function resolveLinks(n: u32, at: u32): void {
  let imported: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const q = JIT_QUEUE + i * Q_SIZE;
    const key = load<u32>(q + Q_KEY);
    const links = load<u32>(q + Q_LINKS);
    for (let k: u32 = 0; k < links; k++) {
      const l = batchLinks + (i * MAX_LINKS + k) * L_SIZE;
      const phys = load<u32>(l + L_PHYS);
      let fn = IMPORTS + HELPERS + i, gen = NO_GENERATION, cnt: u32 = 0;
      let j: u32 = 0;
      for (; j < n; j++) {
        const t = JIT_QUEUE + j * Q_SIZE;
        if (load<u32>(t + Q_PHYS) == phys && load<u32>(t + Q_KEY) == key) break;
      }
      if (j < n) {
        const t = JIT_QUEUE + j * Q_SIZE;
        fn = IMPORTS + HELPERS + j; gen = load<u32>(t + Q_GEN); cnt = load<u32>(t + Q_COUNT);
      } else {
        const slot = blockSlot(phys, key), jit = load<u32>(slot + B_JIT);
        if (load<u32>(slot + B_KEY) == key && load<u32>(slot + B_PHYS) == phys && jit != 0 &&
            load<u32>(slot + B_GEN) == pageGeneration(phys)) {
          let m: u32 = 0;
          while (m < imported && load<u32>(JIT_LINKS + m * 4) != jit) m++;
          if (m < JIT_LINK_MAX) {
            if (m == imported) store<u32>(JIT_LINKS + imported++ * 4, jit);
            fn = F_LINK0 + m; gen = load<u32>(slot + B_GEN); cnt = load<u32>(slot + B_COUNT);
          }
        }
      }
      patchS5(at + load<u32>(l + L_GEN_AT), <i32>gen);
      patchS5(at + load<u32>(l + L_COUNT_AT), <i32>cnt);
      patch5(at + load<u32>(l + L_FN_AT), fn);
    }
  }
  for (let m = imported; m < JIT_LINK_MAX; m++) store<u32>(JIT_LINKS + m * 4, 0);
}
@inline function emptyBatch(): void { queued = 0; hotWaited = 0; bodiesEnd = JIT_BODIES; }

function section(id: u32): u32 { byte(id); return reserve5(); }
// A name: one letter and a number below 100 ("f7", "l12").
function numberedName(letter: u32, i: u32): void {
  uleb(i < 10 ? 2 : 3); byte(letter);
  if (i >= 10) byte(0x30 + i / 10);
  byte(0x30 + i % 10);
}

// The branch-hint section (WebAssembly's branch hinting proposal; before the
// code): every hinted `if` of the regions is unlikely.
function hintSection(n: u32): void {
  let functions: u32 = 0;
  for (let i: u32 = 0; i < n; i++) if (load<u32>(batchHints + i * HINTS_SIZE)) functions++;
  if (!functions) return;
  const s = section(0);
  name("metadata.code.branch_hint");
  uleb(functions);
  for (let i: u32 = 0; i < n; i++) {
    const h = batchHints + i * HINTS_SIZE, count = load<u32>(h);
    if (!count) continue;
    uleb(IMPORTS + HELPERS + i);
    uleb(count);
    for (let k: u32 = 0; k < count; k++) { uleb(load<u32>(h + 4 + k * 4)); uleb(1); byte(0); }
  }
  patch5(s, pos - s - 5);
}

// The carry helper: CF from the lazy record in the vCPU state, as flags.ts
// carry() computes it (locals: op, mask, a, b, r).
function carryBody(): void {
  const at = reserve5();
  const start = pos;
  uleb(1); uleb(5); byte(I32);
  // Inc, Dec: the CF record's (flags.ts), through the core's carry
  i32c(0); mem(W.Load, ACTIVE + S_LAZY_OP); tee(0); i32c(LazyOp.Inc); op(W.Sub); i32c(1); op(W.LeU);
  byte(W.If); byte(VOID); call(F_CARRY); op(W.Return); op(W.End);
  // None: EFLAGS' bit 0; Shift: the lazy A's
  get(0); op(W.Eqz); get(0); i32c(LazyOp.Shift); op(W.Eq); op(W.Or);
  byte(W.If); byte(VOID);
  i32c(ACTIVE + S_LAZY_A); i32c(ACTIVE + S_EFLAGS); get(0); i32c(LazyOp.Shift); op(W.Eq); op(W.Select);
  mem(W.Load, 0); i32c(1); op(W.And); op(W.Return);
  op(W.End);
  get(0); i32c(LazyOp.Logic); op(W.Eq);
  byte(W.If); byte(VOID); i32c(0); op(W.Return); op(W.End);
  i32c(-1); i32c(0xFFFF); i32c(0xFF);
  i32c(0); mem(W.Load, ACTIVE + S_LAZY_SIZE); i32c(1); op(W.Eq); op(W.Select);
  i32c(0); mem(W.Load, ACTIVE + S_LAZY_SIZE); i32c(2); op(W.Eq); op(W.Select); set(1);
  i32c(0); mem(W.Load, ACTIVE + S_LAZY_A); get(1); op(W.And); set(2);
  i32c(0); mem(W.Load, ACTIVE + S_LAZY_B); get(1); op(W.And); set(3);
  i32c(0); mem(W.Load, ACTIVE + S_LAZY_R); get(1); op(W.And); set(4);
  get(0); i32c(LazyOp.Add); op(W.Eq);
  byte(W.If); byte(VOID); get(4); get(2); op(W.LtU); op(W.Return); op(W.End);
  get(0); i32c(LazyOp.Adc); op(W.Eq);
  byte(W.If); byte(VOID); get(4); get(2); op(W.LeU); op(W.Return); op(W.End);
  get(0); i32c(LazyOp.Sub); op(W.Eq);
  byte(W.If); byte(VOID); get(2); get(3); op(W.LtU); op(W.Return); op(W.End);
  get(2); get(3); op(W.LeU); // Sbb
  op(W.End);
  patch5(at, pos - start);
}
// A function type with `params` i32 parameters and one i32 result.
function sig(params: u32): void {
  byte(0x60); uleb(params);
  for (let i: u32 = 0; i < params; i++) byte(I32);
  uleb(1); byte(I32);
}
