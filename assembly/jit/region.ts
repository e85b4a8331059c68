// The region compiler: one decoded block (assembly/cpu/run.ts) becomes one
// WebAssembly function `(room, access, before) -> packed` (docs/jit.md).
//
// - The eight guest registers live in wasm locals, loaded on entry and
//   written back on every exit (and around a fallback into the interpreter).
// - The lazy flags of the last flag-setting instruction stay in locals while
//   the compiler knows which operation set them, so a CMP/Jcc pair becomes one
//   wasm comparison; they are stored to the vCPU state at exits and joins.
// - Memory operands look up the soft TLB inline; a miss calls the core's
//   `jitFill`, which walks the guest's tables and fills the entry as the
//   interpreter's access would, and the region goes on. What the fast path
//   does not cover (a page crossing, MMIO, a watched page, alignment checks,
//   a fault) leaves the region *before* the instruction has any effect: the
//   interpreter then runs the rest of the block from that record, so faults,
//   invalidation and exits are handled by exactly the interpreter's code.
// - A branch to a later record of the block is a wasm `br`; a branch back to
//   the block's first record loops inside the function while the budget
//   allows a whole pass (and the region has no fallback, which could change
//   the mapping of the code).
// - A region without fallbacks that leaves for a block of its page (or
//   returns) has jitRun call that block's region next when the block cache holds it.
// - An instruction without an emitter calls the core's `jitStep`, which runs
//   its interpreter handler.
//
// The result packs the instructions retired and the record to resume at:
// (retired << 5) | resume, where resume = DONE means the block is finished;
// otherwise the region that stopped (the one called, or one it chained to)
// has stored its block at JIT_STOP.
import {
  ACTIVE, CPUID_CONTROL, S_GPR, S_EIP, S_EFLAGS, S_LAZY_OP, S_LAZY_SIZE, S_LAZY_A, S_LAZY_B, S_LAZY_R, S_CF_OP,
  S_SEG, S_CR0, S_CR4, S_CPL, SEG_SIZE, SEG_BASE, SEG_LO, SEG_HI, SEG_RIGHTS, SEG_ATTR, SEG_SS, SEG_FS, SEG_GS, TLB_READ, TLB_WRITE, RECORD_SIZE, BLOCK_HEADER,
  SEG_CS, SEG_ES, SEG_LIMIT, PAGE_INFO, PageInfo, RAM_BASE, BLOCKS, BLOCK_COUNT, BLOCK_SIZE, JIT_STOP, JIT_CHAIN, JIT_LINK_MAX, JIT_SEGS,
} from "../layout";
import {
  R_OP, R_H, R_LEN, R_ATTR, R_REG, R_RM, R_SEG, R_BASE, R_INDEX, R_SCALE, R_DISP, R_IMM, R_HFLAGS, R_BYTES, Attr, NO_REG,
  decode, setFetch, crossedPage,
} from "../cpu/decode";
import { EMITTER, Emitter, HFlag } from "../cpu/opcodes.generated";
import { LazyOp } from "../cpu/flags";
import { INLINE_PORTS, INLINE_READS } from "../cpu/io";
import { tlbAccess } from "../cpu/memory";
import { VM, CR0_PE } from "../cpu/state";
import { blockSlot, B_PHYS as B_PHYS_AT, B_KEY as B_KEY_AT, B_GEN as B_GEN_AT, B_COUNT as B_COUNT_AT } from "../cpu/run";
import { B_JIT as B_JIT_AT } from "./tier";
import { W, VOID, I32, I64, op, get, set, tee, i32c, i64c, call, mem, byte, uleb, reserve5, patch5, pos, overflow, setPos } from "./emit";

export const DONE: u32 = 31;
// resume: the region stopped before an instruction of a block it took in
// (extendRegion): EIP is that instruction's, and the run loop looks up its block
export const AT_EIP: u32 = 30;
// resume: nothing run, the budget has no room for the whole region (a region
// that took blocks in may retire more than its block): the interpreter runs
// the block from its first record, and the run does not count against the region
export const NO_ROOM: u32 = 29;
// A region holds at most this many records (its block's and those of the blocks it takes in).
const MAX_RECORDS: u32 = 128;

// Functions the region module imports from the core (tier.ts), by index.
export const F_STEP: u32 = 0;  // (rec, ip, retired) -> 0 go on | 1 block ends | 2 aborted
export const F_COND: u32 = 1;  // (cc) -> 0/1 from the lazy flags in memory
export const F_CARRY: u32 = 2; // () -> CF from the lazy flags in memory (regions use F_CARRY_HERE)
export const F_SHIFT: u32 = 3; // (op, sz, v, count) -> result; flags written
export const F_PORT: u32 = 4;  // (dir, port, bytes, value, retired with it) -> value read: the core's jitPort (tier.ts)
export const F_CPUID: u32 = 5; // () -> 0: CPUID answered from the host's table, EAX..EDX in the vCPU state
export const F_FILL: u32 = 6;  // (lin, how | bytes << 2, ip, opcode bytes) -> the TLB entry after a walk; without the access bit: leave before the record (tier.ts jitFill)
export const F_RDTSC: u32 = 7; // (retired) -> 0: EDX:EAX = the time stamp counter, in the vCPU state
export const F_LINK0: u32 = 8; // JIT_LINK_MAX regions of earlier modules that this module's regions call directly (tier.ts jitFlush)
export const IMPORTS: u32 = F_LINK0 + JIT_LINK_MAX;
// How a memory operand uses its page (F_FILL's `how`): a read-modify-write
// walks for the read first, as the interpreter's access does.
export const FILL_READ: u32 = 0;
export const FILL_WRITE: u32 = 1;
export const FILL_RMW: u32 = 2;
export const FILL_BYTES_SHIFT: u32 = 2; // `how` also carries the access's size in bytes, from this bit up
// Functions every module defines before its regions (tier.ts writes them).
export const F_CARRY_HERE: u32 = IMPORTS;     // () -> CF from the lazy flags in memory, without leaving the module
export const HELPERS: u32 = 1;

// Locals: the two parameters, then these.
const ROOM: u32 = 0;    // instructions the budget still allows (counting from the run loop's call)
const ACCESS: u32 = 1;  // TLB bit a data access needs (0: every access takes the slow path)
const BEFORE: u32 = 2;  // instructions retired by the regions that chained to this one
const R0: u32 = 3;      // EAX..EDI: 3..10
const EIP0: u32 = 11;   // EIP at entry
const BASE: u32 = 12;   // retired before the current pass, minus skipped records
const LA: u32 = 13;
const LB: u32 = 14;
const LR: u32 = 15;
const T0: u32 = 16;
const T1: u32 = 17;
const LIN: u32 = 18;
const ENT: u32 = 19;
const XEIP: u32 = 20;
const XRET: u32 = 21;
const XNEXT: u32 = 22;  // at an exit to a block of the same page: its block-cache slot
const XPHYS: u32 = 23;  // ... and its guest-physical address
const FSB: u32 = 24;    // FS base (loaded on entry when a memory operand uses FS)
const GSB: u32 = 25;    // GS base
const LCF: u32 = 26;    // CF while cfIn
const NEXT: u32 = 27;   // a branch back to record NEXT (> 0) of the region (BACK)
const LOCALS: u32 = 25;
const P64: u32 = 28;    // the i64 local: a product

const MEMSTATE: u32 = 0; // flags: in the vCPU state (LazyOp values otherwise)
// After a shift or IMUL, which write EFLAGS whole: LR (result), LA (CF) and
// LB (OF) hold the flags, and EFLAGS is written from them only when something
// needs it (flushCode), so a shift whose flags the next instruction replaces
// costs no EFLAGS update. SHIFTED_AF: AF set (SHR, SAR).
const SHIFTED: u32 = 100;
const SHIFTED_AF: u32 = 101;
@inline function shifted(f: u32): bool { return f == SHIFTED || f == SHIFTED_AF; }

// ---- compile-time state of one region ----
let blk: u32 = 0;
let blkPhys: u32 = 0;
let blkKey: u32 = 0;
let entryLin: u32 = 0; // the linear address the block runs at now (a guess for links to other pages)
let count: u32 = 0;
let entryCount: u32 = 0;   // records of the block itself; those after it are taken-in blocks' (memberRecs)
// What the compiler knows of each record (bits of marks[k]):
const END: u8 = 1;  // the last record of its block (the block itself or one taken in)
const FWD: u8 = 2;  // some record branches forward to it
const BACK: u8 = 4; // (k > 0) some record at or after it branches back to it
const MAT: u8 = 8;  // at the join there the flags are materialized (the code after reads them)
const CF: u8 = 16;  // ... and only CF is read there (it is INC/DEC of a register)
const NONE: u8 = 32; // every branch to it emitted so far left the lazy state empty
const marks: usize = memory.data(MAX_RECORDS + 1);
@inline function is(k: u32, m: u8): bool { return (load<u8>(marks + k) & m) != 0; }
@inline function mark(k: u32, m: u8): void { store<u8>(marks + k, load<u8>(marks + k) | m); }
@inline function unmark(k: u32, m: u8): void { store<u8>(marks + k, load<u8>(marks + k) & ~m); }
let backCount: u32 = 0;    // records marked BACK
let offs = new StaticArray<u32>(MAX_RECORDS + 1); // offset of each record from the block start
// The records of the blocks a region takes in, decoded when it is compiled
// (indexed as the region's records; they have emitters only, so the code never refers to them).
const memberRecs: u32 = <u32>memory.data(MAX_RECORDS * RECORD_SIZE);
// The record a region that stopped with AT_EIP at a fault left its instruction's opcode bytes in (for the fault's report: jitFill).
export const BAIL_RECORD: u32 = <u32>memory.data(RECORD_SIZE);
let loops: bool = false;   // a branch returns to record 0 and the region may loop
let againLabel: u32 = 0;   // depth index of the loop a branch back to a record j > 0 goes round (bodyCode)
export let pure: bool = true; // no fallback in the region
let segs: u32 = 0;         // segments used by memory operands
let written: u32 = 0;      // registers the region has written so far
let readRegs: u32 = 0;     // registers whose local the region reads
let fl: u32 = MEMSTATE;    // who holds the lazy flags
let flSz: u32 = 0;
let memNone: bool = false; // with fl == MEMSTATE: the state's lazy op is known to be None
// CF is in the local LCF and EFLAGS' bit 0 is stale (with fl INC/DEC, whose
// CF is the one before them, or with fl == MEMSTATE && memNone): a loop of
// INC/DEC and a flag-setting instruction keeps CF out of memory until it
// leaves (flushCode), instead of a read-modify-write of EFLAGS each pass.
let cfIn: bool = false;
let depth: u32 = 0;        // open wasm blocks
const EXIT_LABEL: u32 = 0;
const PACKED_LABEL: u32 = 1; // an exit whose EIP offset, retired count and resume are one constant in XRET (exitAt)
const LAZY_LABEL: u32 = 2;   // ... that also stores the lazy flags in LA, LB, LR (their op and size in XEIP)
const AGAIN_LABEL: u32 = 3; // pass 0 from its start, the flags in the state (another flag state than the loop's)
const TOP_LABEL: u32 = 4;
let labelOfRecord = new StaticArray<u32>(MAX_RECORDS + 1); // depth index of the block that ends at record j
// A looping region is emitted twice: pass 0 is the first pass over the block
// (flags unknown on entry), pass 1 the loop, entered with the flag state pass
// 0 had when it branched back, so the flags stay in locals around the loop.
let pass: u32 = 0;
const UNSET: u32 = 0xFFFF;
let loopFl: u32 = UNSET;
let loopSz: u32 = 0;
let loopNone: bool = false;
let loopCf: bool = false;
let headCf: bool = false;  // record 0 is INC/DEC of a register: the loop's branches leave CF in LCF (as at a CF join)
export let compiled: u32 = 0; // records with an emitter in the last region
export let fallbacks: u32 = 0;

@inline function rec(k: u32): u32 { return k < entryCount ? blk + BLOCK_HEADER + k * RECORD_SIZE : memberRecs + k * RECORD_SIZE; }
// The offset just after record k (where it falls through to).
@inline function after(k: u32): u32 { return unchecked(offs[k]) + load<u8>(rec(k) + R_LEN); }
@inline function opOf(r: u32): u32 { return <u32>load<u16>(r + R_OP); }
@inline function attr(r: u32): u32 { return load<u8>(r + R_ATTR); }
@inline function isMem(r: u32): bool { return (attr(r) & Attr.Mem) != 0; }
@inline function imm(r: u32): u32 { return load<u32>(r + R_IMM); }
@inline function imm8s(r: u32): u32 { return <u32><i32><i8>load<u8>(r + R_IMM); }

function open(kind: u32): void { byte(kind); byte(VOID); depth++; }
function close(): void { op(W.End); depth--; }
function br(label: u32): void { byte(W.Br); uleb(depth - 1 - label); }

// ---- which records have an emitter ----
// The opcode table's jit column (assembly/cpu/opcodes.mjs) names the emitter of
// each (instruction, operand size, form); the generator turns it into EMITTER[]
// by handler id. What the table cannot say: a LOCK or REP prefix (only PAUSE,
// REP NOP, is compiled) and a 16-bit address (only 32-bit addressing is).
@inline function emitterOf(r: u32): u32 { return <u32>unchecked(EMITTER[load<u16>(r + R_H)]); }
function canEmit(r: u32): bool {
  const e = emitterOf(r);
  const a = attr(r);
  if (a & (Attr.Lock | Attr.Rep | Attr.Repne)) return e == Emitter.Nop;
  if ((a & Attr.Mem) && !(a & Attr.A32)) return false;
  if ((e == Emitter.Lods || e == Emitter.Scas || e == Emitter.Movs || e == Emitter.Stos || e == Emitter.Cmps ||
      e == Emitter.Loop || e == Emitter.Moffs) && !(a & Attr.A32)) return false; // ESI, EDI, ECX, a 32-bit offset
  return e != Emitter.None;
}

// Target of a relative branch as an offset from the block start.
function branchTarget(r: u32, k: u32): u32 {
  const o = opOf(r);
  const disp = (o >= 0x70 && o <= 0x7F) || o == 0xEB || o == 0xE2 ? imm8s(r) : imm(r);
  return after(k) + disp;
}
// The operand size of an instruction whose even opcode is its byte form and odd one its word/dword form.
@inline function pairSize(r: u32): u32 { return opOf(r) & 1 ? (attr(r) & Attr.O32 ? 2 : 1) : 0; }
@inline function isBranch(o: u32): bool { return (o >= 0x70 && o <= 0x7F) || (o >= 0x180 && o <= 0x18F) || o == 0xEB || o == 0xE9 || o == 0xE2; }

// ---- registers ----
// Every read of a register's local goes through getR, so the prologue loads
// only the registers the region reads (or writes: its exits store those).
function getR(i: u32): void { get(R0 + i); readRegs |= 1 << i; }
function getReg(r: u32, sz: u32): void {
  if (sz == 2) { getR(r); return; }
  if (sz == 1) { getR(r); i32c(0xFFFF); op(W.And); return; }
  getR((r & 3));
  if (r >= 4) { i32c(8); op(W.ShrU); }
  i32c(0xFF); op(W.And);
}
// The value on the stack goes to register r (size sz).
function setReg(r: u32, sz: u32): void {
  if (sz == 2) { set(R0 + r); written |= 1 << r; return; }
  const rr = sz == 1 ? r : r & 3;
  const sh: u32 = sz == 0 && r >= 4 ? 8 : 0;
  const m: u32 = sz == 1 ? 0xFFFF : 0xFF;
  i32c(m); op(W.And);
  if (sh) { i32c(sh); op(W.Shl); }
  getR(rr); i32c(~(m << sh)); op(W.And);
  op(W.Or);
  set(R0 + rr);
  written |= 1 << rr;
}

// ---- flags ----
function storeState(off: u32): void { mem(W.Store, ACTIVE + off); } // (0, value) on the stack
function flushCode(): void {
  if (cfIn) cfStore();
  if (fl == MEMSTATE) return;
  if (shifted(fl)) { eagerStore(fl == SHIFTED_AF); return; }
  i32c(0); i32c(fl); storeState(S_LAZY_OP);
  i32c(0); i32c(flSz); storeState(S_LAZY_SIZE);
  operandStores();
  // an INC or DEC's CF is in EFLAGS here (cfStore): its CF record says so (flags.ts)
  if (fl == LazyOp.Inc || fl == LazyOp.Dec) { i32c(0); i32c(LazyOp.None); storeState(S_CF_OP); }
}
// The lazy record's operands and result, from their locals.
function operandStores(): void {
  i32c(0); get(LA); storeState(S_LAZY_A);
  i32c(0); get(LB); storeState(S_LAZY_B);
  i32c(0); get(LR); storeState(S_LAZY_R);
}
function flush(): void {
  flushCode();
  if (shifted(fl)) memNone = true; else if (fl != MEMSTATE) memNone = false;
  fl = MEMSTATE; cfIn = false;
}
// EFLAGS' bit 0 from LCF.
function cfStore(): void {
  i32c(0);
  i32c(0); mem(W.Load, ACTIVE + S_EFLAGS); i32c(~1); op(W.And); get(LCF); op(W.Or);
  storeState(S_EFLAGS);
}
// (any lazy op but INC/DEC defines CF itself: EFLAGS' bit 0 is not read while it is the state's)
function setLazy(o: u32, sz: u32): void { fl = o; flSz = sz; if (o != LazyOp.Inc && o != LazyOp.Dec) cfIn = false; }
@inline function maskOf(sz: u32): u32 { return sz == 2 ? 0xFFFFFFFF : (sz == 1 ? 0xFFFF : 0xFF); }
@inline function signOf(sz: u32): u32 { return sz == 2 ? 0x80000000 : (sz == 1 ? 0x8000 : 0x80); }
function getMasked(l: u32): void { get(l); if (flSz != 2) { i32c(maskOf(flSz)); op(W.And); } }

// CF of the known lazy state.
function cfCode(): void {
  switch (fl) {
    case SHIFTED: case SHIFTED_AF: get(LA); return;
    case LazyOp.Add: getMasked(LR); getMasked(LA); op(W.LtU); return;
    case LazyOp.Sub: getMasked(LA); getMasked(LB); op(W.LtU); return;
    case LazyOp.Logic: i32c(0); return;
    default: // Inc, Dec
      if (cfIn) get(LCF); else { i32c(0); mem(W.Load, ACTIVE + S_EFLAGS); i32c(1); op(W.And); }
      return;
  }
}
function zfCode(): void { getMasked(LR); op(W.Eqz); }
function sfCode(): void { get(LR); i32c(signOf(flSz)); op(W.And); i32c(0); op(W.Ne); }
function ofCode(): void {
  if (fl == LazyOp.Logic) { i32c(0); return; }
  if (shifted(fl)) { get(LB); return; }
  get(LA); get(LB); op(W.Xor);
  if (fl == LazyOp.Add || fl == LazyOp.Inc) { i32c(-1); op(W.Xor); }
  get(LA); get(LR); op(W.Xor); op(W.And);
  i32c(signOf(flSz)); op(W.And); i32c(0); op(W.Ne);
}
function pfCode(): void {
  i32c(0x9669);
  get(LR); get(LR); i32c(4); op(W.ShrU); op(W.Xor); i32c(0xF); op(W.And);
  op(W.ShrU); i32c(1); op(W.And);
}

// Condition cc (Jcc/SETcc/CMOVcc) as 0/1 on the stack.
function condCode(cc: u32): void {
  const t = cc >> 1;
  if (fl == MEMSTATE && memNone) { // from EFLAGS: OF 11, CF 0, ZF 6, SF 7, PF 2
    switch (t) {
      case 0: bitCode(11); break;
      case 1: bitCode(0); break;
      case 2: bitCode(6); break;
      case 3: bitCode(0); bitCode(6); op(W.Or); break;
      case 4: bitCode(7); break;
      case 5: bitCode(2); break;
      case 6: bitCode(7); bitCode(11); op(W.Ne); break;
      default: bitCode(6); bitCode(7); bitCode(11); op(W.Ne); op(W.Or); break;
    }
    if (cc & 1) op(W.Eqz);
    return;
  }
  if (fl == MEMSTATE) { i32c(cc); call(F_COND); return; }
  if (fl == LazyOp.Sub && flSz == 2 && (t == 1 || t == 2 || t == 3 || t == 6 || t == 7)) {
    get(LA); get(LB);
    op(t == 1 ? W.LtU : t == 2 ? W.Eq : t == 3 ? W.LeU : t == 6 ? W.LtS : W.LeS);
  } else {
    switch (t) {
      case 0: ofCode(); break;
      case 1: cfCode(); break;
      case 2: zfCode(); break;
      case 3: cfCode(); zfCode(); op(W.Or); break;
      case 4: sfCode(); break;
      case 5: pfCode(); break;
      case 6: sfCode(); ofCode(); op(W.Ne); break;
      default: zfCode(); sfCode(); ofCode(); op(W.Ne); op(W.Or); break;
    }
  }
  if (cc & 1) op(W.Eqz);
}

function carryCode(): void {
  if (fl != MEMSTATE) cfCode();
  else if (memNone) bitCode(0);
  else call(F_CARRY_HERE);
}
// EFLAGS bit b as 0/1 (the lazy state is known to be empty).
function bitCode(b: u32): void {
  if (b == 0 && cfIn) { get(LCF); return; }
  i32c(0); mem(W.Load, ACTIVE + S_EFLAGS); if (b) { i32c(b); op(W.ShrU); } i32c(1); op(W.And);
}

// ---- exits ----
// Leave the region: EIP = EIP0 + offset, result = packed(BASE + retired, resume).
// Most exits are near the block (a slow path leaving before its record): they
// pack the offset, the count and resume into one constant, which the code at
// PACKED_LABEL unpacks once for all of them (a region has hundreds of these;
// the fewer bytes, the less V8 spends compiling it).
function exitAt(eipOff: u32, retired: u32, resume: u32): void {
  if (<i32>eipOff < -0x8000 || <i32>eipOff >= 0x8000 || retired >= 0x100) {
    flushCode();
    get(EIP0); if (eipOff) { i32c(eipOff); op(W.Add); } set(XEIP);
    exitRet(retired, resume);
    return;
  }
  const lazy = fl != MEMSTATE && !shifted(fl);
  if (lazy) {
    if (cfIn) cfStore();
    i32c(fl | (flSz << 8)); set(XEIP);
  } else flushCode();
  i32c((eipOff << 16) | (retired << 8) | resume); set(XRET);
  br(lazy ? LAZY_LABEL : PACKED_LABEL);
}
// At LAZY_LABEL: the lazy flags into the state, as flushCode stores them.
function lazyExit(): void {
  i32c(0); get(XEIP); i32c(0xFF); op(W.And); storeState(S_LAZY_OP);
  i32c(0); get(XEIP); i32c(8); op(W.ShrU); storeState(S_LAZY_SIZE);
  operandStores();
  // (an INC or DEC's CF is in EFLAGS, as in flushCode; another record has no use for the CF record)
  i32c(0); i32c(LazyOp.None); storeState(S_CF_OP);
}
// At PACKED_LABEL: XRET = offset << 16 | retired << 8 | resume becomes XEIP and XRET.
function unpackExit(): void {
  get(EIP0); get(XRET); i32c(16); op(W.ShrS); op(W.Add); set(XEIP);
  get(BASE); get(XRET); i32c(8); op(W.ShrU); i32c(0xFF); op(W.And); op(W.Add);
  i32c(5); op(W.Shl); get(XRET); i32c(0x1F); op(W.And); op(W.Or); set(XRET);
}
// Leave to block offset t after `retired` records, chaining to the region of
// the block there (a pure region only: nothing it ran can have changed what
// the run loop checks between blocks): in this page, a link; in another, the
// TLB says where it is, as for a return.
function exitTo(t: u32, retired: u32): void {
  const inPage = <i32>(blkPhys & 0xFFF) + <i32>t;
  if (pure && inPage >= 0 && inPage < 0x1000) {
    const phys = (blkPhys & 0xFFFFF000) + <u32>inPage;
    i32c(blockSlot(phys, blkKey)); set(XNEXT);
    i32c(phys); set(XPHYS);
    addLink(phys);
  } else if (pure) {
    // (where the TLB maps the target now is the link's guess; the exit checks it)
    const lin = entryLin + t, ent = load<u32>(TLB_READ + ((lin >>> 12) << 2));
    if (ent & tlbAccess) addLink((ent & 0xFFFFF000) - RAM_BASE + (lin & 0xFFF));
    flushCode();
    get(EIP0); if (t) { i32c(t); op(W.Add); } set(XEIP);
    returnTargetCode();
    exitRet(retired, DONE);
    return;
  }
  exitAt(t, retired, DONE);
}
function exitRet(retired: u32, resume: u32): void {
  get(BASE); if (retired) { i32c(retired); op(W.Add); }
  i32c(5); op(W.Shl); if (resume) { i32c(resume); op(W.Or); }
  set(XRET);
  br(EXIT_LABEL);
}
// XPHYS and XNEXT for a computed target (XEIP): the guest-physical address the
// TLB maps CS:XEIP to for a code fetch, and the block-cache slot of a block
// there (chainCode checks that the slot holds it). Left 0 on a TLB miss.
function returnTargetCode(): void {
  i32c(0); mem(W.Load, ACTIVE + S_SEG + SEG_CS * SEG_SIZE + SEG_BASE); get(XEIP); op(W.Add); set(LIN);
  get(LIN); i32c(12); op(W.ShrU); i32c(2); op(W.Shl); mem(W.Load, TLB_READ); tee(ENT);
  get(ACCESS); op(W.And);
  open(W.If);
  get(ENT); i32c(0xFFFFF000); op(W.And); i32c(RAM_BASE); op(W.Sub); get(LIN); i32c(0xFFF); op(W.And); op(W.Add); tee(XPHYS);
  // blockSlot (cpu/run.ts), computed at run time
  i32c(blkKey << 31); op(W.Xor); i32c(0x9E3779B1); op(W.Mul);
  op(W.I64ExtendU); i64c(<i32>BLOCK_COUNT); op(W.I64Mul); i64c(32); op(W.I64ShrU); op(W.Wrap);
  i32c(BLOCK_SIZE); op(W.Mul); i32c(BLOCKS); op(W.Add); set(XNEXT);
  close();
}

// Leave before record k: the interpreter runs it (in this block, or in the
// block the run loop finds at its EIP).
function bail(k: u32): void { exitAt(unchecked(offs[k]), k, k < entryCount ? k : AT_EIP); }

// ---- memory operands ----
// The linear address of record r's memory operand: its offset plus the
// segment base, which the entry guard requires to be 0 except for FS and GS
// (per-CPU data and thread-local storage), whose bases are in locals.
// With a base, an offset near 4 GiB no longer shows as a page crossing of the
// linear address: an access past the segment's top (offsets up to 4 GiB-1)
// leaves before record k, for the interpreter's #GP.
function linearCode(r: u32, bytes: u32, k: u32): void {
  eaCode(r);
  segmentCode(load<u8>(r + R_SEG), bytes, k);
}
// The offset on the stack becomes the linear address in segment s.
function segmentCode(s: u32, bytes: u32, k: u32): void {
  if (s != SEG_FS && s != SEG_GS) return;
  if (bytes > 1) { tee(ENT); i32c(0 - bytes); op(W.GtU); open(W.If); bail(k); close(); get(ENT); }
  get(s == SEG_FS ? FSB : GSB); op(W.Add);
}
// The offset (effective address) of record r's memory operand.
function eaCode(r: u32): void {
  i32c(load<u32>(r + R_DISP));
  const b = load<u8>(r + R_BASE), x = load<u8>(r + R_INDEX);
  if (b != NO_REG) { getR(b); op(W.Add); }
  if (x != NO_REG) {
    getR(x);
    const s = load<u8>(r + R_SCALE);
    if (s) { i32c(s); op(W.Shl); }
    op(W.Add);
  }
  segs |= 1 << load<u8>(r + R_SEG);
}
// The linear address is on the stack: LIN = the host address of the access
// (how: FILL_READ, FILL_WRITE, FILL_RMW). A TLB miss or a page crossing calls
// the core (jitFill), which walks and fills the entry; the region leaves before
// record k when the core says it cannot go on inline (a crossing, a fault,
// which the core has raised, MMIO, a watched page, alignment checks).
function tlbCode(bytes: u32, how: u32, k: u32): void {
  set(LIN);
  get(LIN); i32c(12); op(W.ShrU); i32c(2); op(W.Shl);
  mem(W.Load, how == FILL_READ ? TLB_READ : TLB_WRITE); tee(ENT);
  get(ACCESS); op(W.And); op(W.Eqz);
  if (bytes > 1) { crossCode(bytes); op(W.Or); }
  unlikelyIf();
  get(LIN); i32c(how | (bytes << FILL_BYTES_SHIFT)); get(EIP0); if (unchecked(offs[k])) { i32c(unchecked(offs[k])); op(W.Add); }
  i32c(k < entryCount ? 0 : load<u32>(rec(k) + R_BYTES));
  call(F_FILL); tee(ENT);
  get(ACCESS); op(W.And); op(W.Eqz);
  open(W.If); bail(k); close();
  close();
  get(ENT); i32c(0xFFFFF000); op(W.And); get(LIN); i32c(0xFFF); op(W.And); op(W.Add); set(LIN);
}
function crossCode(bytes: u32): void { get(LIN); i32c(0xFFF); op(W.And); i32c(0x1000 - bytes); op(W.GtU); }
function loadSz(sz: u32): void { get(LIN); mem(sz == 2 ? W.Load : (sz == 1 ? W.Load16U : W.Load8U), 0); }
// (value on the stack in T0)
function storeSz(sz: u32): void { get(LIN); get(T0); mem(sz == 2 ? W.Store : (sz == 1 ? W.Store16 : W.Store8), 0); }

// E operand of record r: read (for RMW, the TLB check is the write one).
function readE(r: u32, sz: u32, k: u32, rmw: bool): void {
  if (!isMem(r)) { getReg(load<u8>(r + R_RM), sz); return; }
  linearCode(r, 1 << sz, k); tlbCode(1 << sz, rmw ? FILL_RMW : FILL_READ, k); loadSz(sz);
}
// Write the value on the stack to E; `again`: LIN is already checked (RMW).
function writeE(r: u32, sz: u32, k: u32, again: bool): void {
  if (!isMem(r)) { setReg(load<u8>(r + R_RM), sz); return; }
  set(T0);
  if (!again) { linearCode(r, 1 << sz, k); tlbCode(1 << sz, FILL_WRITE, k); }
  storeSz(sz);
}

// ---- ALU ----
// The operands a, b are on the stack; leaves the result in LR (and sets the
// lazy state). LA/LB/LR still hold the previous flags until the operands are
// known: a bail before that point flushes them.
function aluCode(kind: u32, sz: u32): void {
  if (kind == 2 || kind == 3) { // ADC, SBB: carry-in known only at run time
    carryCode(); set(T1);
    set(LB); set(LA);
    get(LA); get(LB); op(kind == 2 ? W.Add : W.Sub); get(T1); op(kind == 2 ? W.Add : W.Sub); set(LR);
    const base: u32 = kind == 2 ? LazyOp.Add : LazyOp.Sub;
    i32c(0); i32c(base); get(T1); op(W.Add); storeState(S_LAZY_OP);
    i32c(0); i32c(sz); storeState(S_LAZY_SIZE);
    i32c(0); get(LA); storeState(S_LAZY_A);
    i32c(0); get(LB); storeState(S_LAZY_B);
    i32c(0); get(LR); storeState(S_LAZY_R);
    fl = MEMSTATE; memNone = false; cfIn = false;
    return;
  }
  set(LB); set(LA);
  get(LA); get(LB);
  switch (kind) {
    case 0: op(W.Add); setLazy(LazyOp.Add, sz); break;
    case 1: op(W.Or); setLazy(LazyOp.Logic, sz); break;
    case 4: op(W.And); setLazy(LazyOp.Logic, sz); break;
    case 6: op(W.Xor); setLazy(LazyOp.Logic, sz); break;
    default: op(W.Sub); setLazy(LazyOp.Sub, sz); break; // SUB, CMP
  }
  set(LR);
}

// INC/DEC of the value on the stack: CF is kept, in LCF (the interpreter
// folds it into EFLAGS; flushCode does that when the lazy record is stored).
function incDecCode(dec: bool, sz: u32): void {
  // (after INC/DEC or with no lazy state CF is where it stays: EFLAGS or LCF)
  if (fl != LazyOp.Inc && fl != LazyOp.Dec && !(fl == MEMSTATE && memNone)) {
    carryCode(); set(LCF); cfIn = true;
  }
  set(LA);
  i32c(1); set(LB);
  get(LA); i32c(1); op(dec ? W.Sub : W.Add); set(LR);
  setLazy(dec ? LazyOp.Dec : LazyOp.Inc, sz);
}

// TEST: lazy Logic with A = B = 0, as logicFlags records it.
function testCode(sz: u32): void {
  op(W.And); set(LR);
  i32c(0); set(LA); i32c(0); set(LB);
  setLazy(LazyOp.Logic, sz);
}

// IN/OUT (E4-E7 imm8 port, EC-EF DX): an inline port (cpu/io.ts) is the
// core's jitPort (the open bus, or the host's portIo), called from here when I/O is allowed
// without the TSS bitmap (real mode, or CPL <= IOPL outside virtual-8086
// mode); any other port or privilege leaves before it, for the interpreter.
function portCode(r: u32, k: u32, o: u32): void {
  const sz = pairSize(r);
  const input = (o & 2) == 0;
  if (o < 0xE8) i32c(imm(r) & 0xFF); else getReg(2, 1);
  set(T1);
  get(T1); i32c(3); op(W.ShrU); mem(W.Load8U, <u32>(input ? INLINE_READS : INLINE_PORTS));
  get(T1); i32c(7); op(W.And); op(W.ShrU); i32c(1); op(W.And); op(W.Eqz);
  i32c(0); mem(W.Load, ACTIVE + S_CR0); i32c(CR0_PE); op(W.And);
  i32c(0); mem(W.Load, ACTIVE + S_EFLAGS); tee(T0); i32c(VM); op(W.And);
  i32c(0); mem(W.Load, ACTIVE + S_CPL); get(T0); i32c(12); op(W.ShrU); i32c(3); op(W.And); op(W.GtU); op(W.Or);
  op(W.And); op(W.Or);
  open(W.If); bail(k); close();
  i32c(input ? 1 : 0); get(T1); i32c(1 << sz);
  if (input) i32c(0); else getReg(0, sz);
  get(BASE); i32c(k + 1); op(W.Add);
  call(F_PORT);
  if (input) setReg(0, sz); else op(W.Drop);
}

// CPUID: the core answers it from the host's table (cpu/system.ts) with EAX
// and ECX from the state, so the region stays free of fallbacks and a loop
// around it stays inside the function. When a policy wants to see every
// CPUID (CPUID_CONTROL), it leaves before it for the interpreter, which exits.
function cpuidCode(k: u32): void {
  i32c(0); mem(W.Load, CPUID_CONTROL); open(W.If); bail(k); close();
  i32c(0); getR(0); storeState(S_GPR);
  i32c(0); getR(1); storeState(S_GPR + 4);
  call(F_CPUID); op(W.Drop);
  for (let i: u32 = 0; i < 4; i++) { i32c(0); mem(W.Load, ACTIVE + S_GPR + (i << 2)); setReg(i, 2); }
}

// RDTSC: the core reads the counter at this record's retired count (the
// virtual clock's), so a delay loop around it stays in its region. CR4.TSD
// outside ring 0 leaves before it, for the interpreter's #GP.
const CR4_TSD: u32 = 4; // time stamp disable: RDTSC is privileged
function rdtscCode(k: u32): void {
  i32c(0); mem(W.Load, ACTIVE + S_CR4); i32c(CR4_TSD); op(W.And);
  i32c(0); mem(W.Load, ACTIVE + S_CPL); i32c(0); op(W.Ne); i32c(2); op(W.Shl); op(W.And); // (CR4_TSD is bit 2)
  open(W.If); bail(k); close();
  get(BASE); if (k) { i32c(k); op(W.Add); }
  call(F_RDTSC); op(W.Drop);
  for (let i: u32 = 0; i < 4; i += 2) { i32c(0); mem(W.Load, ACTIVE + S_GPR + (i << 2)); setReg(i, 2); }
}

// ---- one record ----
function emitRecord(r: u32, k: u32): void {
  const o = opOf(r);
  const g = load<u8>(r + R_REG);
  const e = load<u8>(r + R_RM);
  switch (emitterOf(r)) {
    case Emitter.Alu: {
      if (o >= 0x80) { // group 1: E, imm
        const sz: u32 = o == 0x80 || o == 0x82 ? 0 : 2;
        readE(r, sz, k, g != 7);
        i32c(o == 0x83 ? imm8s(r) : imm(r));
        aluCode(g, sz);
        if (g != 7) { get(LR); writeE(r, sz, k, true); }
        return;
      }
      const kind = o >> 3, form = o & 7; // six forms of eight operations
      const sz: u32 = form & 1 ? 2 : 0;
      if (form < 2) { // E, G
        readE(r, sz, k, kind != 7);
        getReg(g, sz);
        aluCode(kind, sz);
        if (kind != 7) { get(LR); writeE(r, sz, k, true); }
      } else if (form < 4) { // G, E
        getReg(g, sz);
        readE(r, sz, k, false);
        aluCode(kind, sz);
        if (kind != 7) { get(LR); setReg(g, sz); }
      } else { // AL/EAX, imm
        getReg(0, sz);
        i32c(imm(r));
        aluCode(kind, sz);
        if (kind != 7) { get(LR); setReg(0, sz); }
      }
      return;
    }
    case Emitter.IncDecReg:
      getR((o & 7));
      incDecCode(o >= 0x48, 2);
      get(LR); setReg(o & 7, 2);
      return;
    case Emitter.PushReg: getR((o & 7)); pushCode(k); return;
    case Emitter.PopReg: popCode(k); setReg(o & 7, 2); return;
    case Emitter.Leave: // ESP = EBP, then POP EBP (a read the region cannot do leaves before it)
      getR(5); tlbCode(4, FILL_READ, k);
      getR(5); i32c(4); op(W.Add); set(R0 + 4); written |= 1 << 4;
      get(LIN); mem(W.Load, 0); setReg(5, 2);
      return;
    case Emitter.PushImm: i32c(o == 0x68 ? imm(r) : imm8s(r)); pushCode(k); return;
    case Emitter.PushE: readE(r, 2, k, false); pushCode(k); return; // PUSH r/m32 (its address uses ESP before the push)
    case Emitter.Jcc: jccCode(r, k, o & 15); return;
    case Emitter.Cmov: // CMOVcc r32, r/m32: the source is read (and may fault) whatever the condition
      readE(r, 2, k, false); getReg(g, 2); condCode(o & 15); op(W.Select); setReg(g, 2);
      return;
    case Emitter.Setcc: condCode(o & 15); setReg(e, 0); return; // SETcc r8
    case Emitter.Imul:
      if (o == 0x1AF) { getReg(g, 2); readE(r, 2, k, false); } // IMUL r32, r/m32
      else { readE(r, 2, k, false); i32c(o == 0x69 ? imm(r) : imm8s(r)); } // IMUL r32, r/m32, imm
      mulCode(); setReg(g, 2);
      return;
    case Emitter.Test: {
      const sz: u32 = o & 1 ? 2 : 0;
      if (o == 0xA8 || o == 0xA9) { getReg(0, sz); i32c(imm(r)); }
      else if (o >= 0xF6) { readE(r, sz, k, false); i32c(imm(r)); }
      else { readE(r, sz, k, false); getReg(g, sz); }
      testCode(sz);
      return;
    }
    case Emitter.Mov: {
      if (o >= 0xB0 && o <= 0xBF) { i32c(imm(r)); setReg(o & 7, o < 0xB8 ? 0 : (attr(r) & Attr.O32 ? 2 : 1)); return; }
      const sz = pairSize(r);
      if (o == 0x88 || o == 0x89) { getReg(g, sz); writeE(r, sz, k, false); }
      else if (o == 0x8A || o == 0x8B) { readE(r, sz, k, false); setReg(g, sz); }
      else { i32c(imm(r)); writeE(r, sz, k, false); } // C6, C7
      return;
    }
    case Emitter.Lea: eaCode(r); segs &= ~(1 << load<u8>(r + R_SEG)); setReg(g, 2); return; // no access
    case Emitter.Nop: return;
    case Emitter.PortIo: portCode(r, k, o); return;
    case Emitter.Cpuid: cpuidCode(k); return;
    case Emitter.Rdtsc: rdtscCode(k); return;
    case Emitter.Xchg: {
      const a: u32 = o == 0x87 ? e : 0, b: u32 = o == 0x87 ? g : o & 7;
      getR(a); getR(b); setReg(a, 2); setReg(b, 2);
      return;
    }
    case Emitter.Cwde: getR(0); op(W.Extend16S); setReg(0, 2); return;
    case Emitter.Cdq: getR(0); i32c(31); op(W.ShrS); setReg(2, 2); return;
    case Emitter.Shift: { // group 2, register operand
      const sz = pairSize(r);
      const c: u32 = o <= 0xC1 ? imm(r) & 31 : (o <= 0xD1 ? 1 : 0);
      if (g >= 4 && c != 0 && c < (<u32>8 << sz)) { getReg(e, sz); shiftCode(g, sz, c); setReg(e, sz); return; }
      if (g <= 1 && c != 0 && sz == 2 && (fl != MEMSTATE || memNone)) {
        materialize();
        getReg(e, 2); rotateCode(g, c); setReg(e, 2); return;
      }
      flush();
      i32c(g); i32c(sz); getReg(e, sz);
      if (o <= 0xC1) i32c(imm(r)); else if (o <= 0xD1) i32c(1); else getReg(1, 0);
      call(F_SHIFT);
      setReg(e, sz);
      // a rotate folds the flags into EFLAGS; SHL/SHR/SAR leave a lazy record,
      // and a count of 0 (CL) the state as it was
      memNone = c != 0 && g < 4;
      return;
    }
    case Emitter.Not: getR(e); i32c(-1); op(W.Xor); setReg(e, 2); return;
    case Emitter.Neg: i32c(0); getR(e); aluCode(5, 2); get(LR); setReg(e, 2); return;
    case Emitter.IncDec: { // INC/DEC r/m
      const sz: u32 = o == 0xFE ? 0 : 2;
      readE(r, sz, k, true);
      incDecCode(g == 1, sz);
      get(LR); writeE(r, sz, k, true);
      return;
    }
    case Emitter.Movx: { // MOVZX, MOVSX
      const sz: u32 = o & 1 ? 1 : 0;
      readE(r, sz, k, false);
      if (o == 0x1BE) op(W.Extend8S); else if (o == 0x1BF) op(W.Extend16S);
      setReg(g, 2);
      return;
    }
    case Emitter.Call: // CALL rel32: push the return address, leave at the target
      get(EIP0); i32c(after(k)); op(W.Add); pushCode(k);
      exitTo(branchTarget(r, k), k + 1);
      return;
    case Emitter.Ret: // leave at the popped address (chaining to its block when it has a region)
      popCode(k); set(T1);
      flushCode(); get(T1); set(XEIP);
      if (pure) returnTargetCode();
      exitRet(k + 1, DONE);
      return;
    case Emitter.Jmp: branchCode(r, k); return;
    case Emitter.JmpE: // JMP/CALL r/m32 (FF /4, /2): leave at the operand's value, as RET does
      readE(r, 2, k, false); set(XEIP);
      if (g == 2) { get(EIP0); i32c(after(k)); op(W.Add); pushCode(k); }
      flushCode();
      if (pure) returnTargetCode();
      exitRet(k + 1, DONE);
      return;
    case Emitter.MulDiv: readE(r, 2, k, false); set(T1); mulDivCode(g, k); return; // group 3 /4-/7, dword
    // string instructions without REP (canEmit: 32-bit addresses); Scas and Cmps: byte or dword
    case Emitter.Lods: { // LODS: AL/AX/EAX from seg:[ESI]
      const sz = pairSize(r);
      sourceCode(r, sz, k); setReg(0, sz);
      stringStep(6, 1 << sz);
      return;
    }
    case Emitter.Scas: { // SCAS: CMP AL/EAX, ES:[EDI]
      const sz = pairSize(r);
      destinationCode(sz, k); set(T1);
      getReg(0, sz); get(T1); aluCode(7, sz);
      stringStep(7, 1 << sz);
      return;
    }
    case Emitter.Stos: { // STOS: AL/AX/EAX to ES:[EDI]
      const sz = pairSize(r);
      getR(7); tlbCode(1 << sz, FILL_WRITE, k); getReg(0, sz); set(T0); storeSz(sz);
      stringStep(7, 1 << sz);
      return;
    }
    case Emitter.Movs: { // MOVS: seg:[ESI] to ES:[EDI], the read first as the interpreter's
      const sz = pairSize(r);
      sourceCode(r, sz, k); set(T1);
      getR(7); tlbCode(1 << sz, FILL_WRITE, k); get(T1); set(T0); storeSz(sz);
      stringStep(6, 1 << sz); stringStep(7, 1 << sz);
      return;
    }
    case Emitter.Cmps: { // CMPS: CMP seg:[ESI], ES:[EDI]
      const sz = pairSize(r);
      sourceCode(r, sz, k); set(T1);
      destinationCode(sz, k); set(T0);
      get(T1); get(T0); aluCode(7, sz);
      stringStep(6, 1 << sz); stringStep(7, 1 << sz);
      return;
    }
    case Emitter.Moffs: { // MOV AL/eAX, moffs; MOV moffs, AL/eAX (canEmit: a 32-bit offset)
      const sz = pairSize(r);
      i32c(load<u32>(r + R_DISP)); segmentCode(load<u8>(r + R_SEG), 1 << sz, k);
      if (o <= 0xA1) { tlbCode(1 << sz, FILL_READ, k); loadSz(sz); setReg(0, sz); return; }
      tlbCode(1 << sz, FILL_WRITE, k); getReg(0, sz); set(T0); storeSz(sz);
      return;
    }
    case Emitter.Loop: // LOOP rel8 (canEmit: ECX, a 32-bit address): no flags read or written
      getR(1); i32c(1); op(W.Sub); setReg(1, 2);
      getR(1); branchIf(branchTarget(r, k), k);
      return;
  }
  unreachable();
}

// SHL/SAL, SHR, SAR of the value on the stack by a constant count c (1..31;
// a byte only up to 7, a word up to 15) as the interpreter's shift() does: the result stays on
// the stack (and in LR), CF in LA and OF in LB for conditions, and EFLAGS is
// written whole with the lazy state dropped.
function shiftCode(g: u32, sz: u32, c: u32): void {
  const w: u32 = 8 << sz;
  const msb = signOf(sz);
  set(T0);
  // (the lazy record before it is not stored: with EFLAGS written whole, nothing reads it)
  if (g == 7) { // SAR
    get(T0); if (sz == 0) op(W.Extend8S); else if (sz == 1) op(W.Extend16S); set(T1);
    get(T1); i32c(c - 1); op(W.ShrS); i32c(1); op(W.And); set(LA);
    get(T1); i32c(c); op(W.ShrS); i32c(maskOf(sz)); op(W.And); set(LR);
    i32c(0); set(LB);
  } else if (g == 5) { // SHR
    get(T0); i32c(c - 1); op(W.ShrU); i32c(1); op(W.And); set(LA);
    get(T0); i32c(c); op(W.ShrU); set(LR);
    get(LR); i32c(msb); op(W.And); i32c(0); op(W.Ne);
    get(LR); i32c(msb >> 1); op(W.And); i32c(0); op(W.Ne); op(W.Ne); set(LB);
  } else { // SHL (and /6)
    get(T0); i32c(w - c); op(W.ShrU); i32c(1); op(W.And); set(LA);
    get(T0); i32c(c); op(W.Shl); i32c(maskOf(sz)); op(W.And); set(LR);
    get(LR); i32c(msb); op(W.And); i32c(0); op(W.Ne); get(LA); op(W.Ne); set(LB);
  }
  eagerFlags(sz, g == 5 || g == 7); // AF set by SHR and SAR, as the interpreter defines it
  get(LR);
}

// All six arithmetic flags are in LR (ZF SF PF), LA (CF) and LB (OF); the
// lazy state is dropped (as alu.ts setArithBits does) when they are stored.
function eagerFlags(sz: u32, af: bool): void { fl = af ? SHIFTED_AF : SHIFTED; flSz = sz; cfIn = false; }
// Write them to EFLAGS and drop the lazy state.
function eagerStore(af: bool): void {
  i32c(0);
  i32c(0); mem(W.Load, ACTIVE + S_EFLAGS); i32c(~ARITH); op(W.And);
  get(LA); op(W.Or);
  get(LB); i32c(11); op(W.Shl); op(W.Or);
  pfCode(); i32c(2); op(W.Shl); op(W.Or);
  zfCode(); i32c(6); op(W.Shl); op(W.Or);
  sfCode(); i32c(7); op(W.Shl); op(W.Or);
  if (af) { i32c(0x10); op(W.Or); }
  i32c(DEFINED_FLAGS); op(W.And); i32c(2); op(W.Or);
  storeState(S_EFLAGS);
  i32c(0); i32c(LazyOp.None); storeState(S_LAZY_OP);
}

// Make EFLAGS hold the known lazy flags and drop the lazy state, as getFlags
// and setFlagsRaw do when an instruction (a rotate) needs the whole value.
function materialize(): void {
  if (fl == MEMSTATE) { if (cfIn) { cfStore(); cfIn = false; } return; }
  if (shifted(fl)) { flush(); return; }
  flushCode();
  i32c(0);
  i32c(0); mem(W.Load, ACTIVE + S_EFLAGS); i32c(~ARITH); op(W.And);
  cfCode(); op(W.Or);
  pfCode(); i32c(2); op(W.Shl); op(W.Or);
  if (fl != LazyOp.Logic) { get(LA); get(LB); op(W.Xor); get(LR); op(W.Xor); i32c(0x10); op(W.And); op(W.Or); }
  zfCode(); i32c(6); op(W.Shl); op(W.Or);
  sfCode(); i32c(7); op(W.Shl); op(W.Or);
  ofCode(); i32c(11); op(W.Shl); op(W.Or);
  i32c(DEFINED_FLAGS); op(W.And); i32c(2); op(W.Or);
  storeState(S_EFLAGS);
  i32c(0); i32c(LazyOp.None); storeState(S_LAZY_OP);
  fl = MEMSTATE; memNone = true; cfIn = false;
}

// Every path into the join at record j leaves the flags the same way: in the
// state (flush), or, when the code after reads them first (MAT), with
// EFLAGS whole, or only CF, in LCF, when record j is an INC/DEC of a register.
// That one cannot leave the region before it sets the other five from its own
// result, so their EFLAGS bits are never read: it takes CF from LCF and leaves
// its own lazy record (so the state's lazy op is not read either: it is not stored).
function joinCode(j: u32): void {
  if (is(j, CF)) {
    carryCode(); set(LCF);
    fl = MEMSTATE; memNone = true; cfIn = true;
    return;
  }
  if (is(j, MAT)) materialize();
  flush();
}

// A string instruction's source, seg:[ESI], read onto the stack.
function sourceCode(r: u32, sz: u32, k: u32): void {
  getR(6); segmentCode(load<u8>(r + R_SEG), 1 << sz, k); tlbCode(1 << sz, FILL_READ, k); loadSz(sz);
}
// ... and its ES:[EDI] (ES's base is 0: the entry guard), read onto the stack.
function destinationCode(sz: u32, k: u32): void {
  getR(7); tlbCode(1 << sz, FILL_READ, k); loadSz(sz);
}
// A string instruction's ESI or EDI (register i) moves by its size, down when EFLAGS.DF (bit 10) is set.
function stringStep(i: u32, bytes: u32): void {
  getR(i); i32c(0 - bytes); i32c(bytes); bitCode(10); op(W.Select);
  op(W.Add); setReg(i, 2);
}

// ROL/ROR of a dword by a constant count (1..31) when the lazy state is known
// to be empty: only CF and OF change, the other flags stay in EFLAGS.
function rotateCode(g: u32, c: u32): void {
  set(T0);
  get(T0); i32c(c); op(g == 0 ? W.Rotl : W.Rotr); set(LR);
  if (g == 0) { get(LR); i32c(1); op(W.And); } else { get(LR); i32c(31); op(W.ShrU); }
  set(LA);
  get(LR); i32c(31); op(W.ShrU);
  if (g == 0) get(LA); else { get(LR); i32c(30); op(W.ShrU); i32c(1); op(W.And); }
  op(W.Ne); set(LB);
  i32c(0);
  i32c(0); mem(W.Load, ACTIVE + S_EFLAGS); i32c(~0x801); op(W.And);
  get(LA); op(W.Or); get(LB); i32c(11); op(W.Shl); op(W.Or);
  i32c(DEFINED_FLAGS); op(W.And); i32c(2); op(W.Or);
  storeState(S_EFLAGS);
  fl = MEMSTATE; memNone = true; cfIn = false;
  get(LR);
}

// IMUL r32: the truncated signed product of the two values on the stack;
// CF = OF = the product does not fit (as execute.ts imulTrunc).
function mulCode(): void {
  set(T1); set(T0);
  get(T0); op(W.I64ExtendS); get(T1); op(W.I64ExtendS); op(W.I64Mul); tee(P64);
  op(W.Wrap); set(LR);
  get(P64); get(LR); op(W.I64ExtendS); op(W.I64Ne); tee(LA); set(LB);
  eagerFlags(2, false);
  get(LR);
}
// MUL, IMUL, DIV, IDIV of EDX:EAX by T1 (group 3, dword), as execute.ts
// multiply/divide. A divide that raises #DE (zero divisor, quotient too big)
// leaves the region before the instruction: the interpreter raises it. IDIV
// by -1 leaves too (its one overflowing case, and i64.div_s would trap).
function mulDivCode(g: u32, k: u32): void {
  const signed = (g & 1) != 0;
  if (g <= 5) {
    getR(0); op(signed ? W.I64ExtendS : W.I64ExtendU); get(T1); op(signed ? W.I64ExtendS : W.I64ExtendU);
    op(W.I64Mul); tee(P64); op(W.Wrap); set(LR);
    get(P64); i64c(32); op(W.I64ShrU); op(W.Wrap); set(T0);
    if (signed) { get(P64); get(LR); op(W.I64ExtendS); op(W.I64Ne); } else { get(T0); i32c(0); op(W.Ne); }
    tee(LA); set(LB);
    get(LR); setReg(0, 2); get(T0); setReg(2, 2);
    eagerFlags(2, false);
    return;
  }
  get(T1); op(W.Eqz);
  if (signed) { get(T1); i32c(-1); op(W.Eq); } else { getR(2); get(T1); op(W.GeU); }
  op(W.Or);
  open(W.If); bail(k); close();
  getR(2); op(W.I64ExtendU); i64c(32); op(W.I64Shl); getR(0); op(W.I64ExtendU); op(W.I64Or); set(P64);
  const ext = signed ? W.I64ExtendS : W.I64ExtendU;
  get(P64); get(T1); op(ext); op(signed ? W.I64RemS : W.I64RemU); op(W.Wrap); set(T0);
  get(P64); get(T1); op(ext); op(signed ? W.I64DivS : W.I64DivU); set(P64);
  if (signed) { // the quotient must fit in 32 bits
    get(P64); op(W.Wrap); op(W.I64ExtendS); get(P64); op(W.I64Ne);
    open(W.If); bail(k); close();
  }
  get(P64); op(W.Wrap); setReg(0, 2);
  get(T0); setReg(2, 2);
}
const ARITH: u32 = 0x8D5;           // CF PF AF ZF SF OF
const DEFINED_FLAGS: u32 = 0x3F7FD5; // as flags.ts setFlagsRaw keeps

// PUSH the value on the stack (32-bit stack: the entry guard checked SS).
function pushCode(k: u32): void {
  set(T1);
  getR(4); i32c(4); op(W.Sub); tee(T0);
  segs |= 1 << SEG_SS;
  tlbCode(4, FILL_WRITE, k);
  get(LIN); get(T1); mem(W.Store, 0);
  getR(4); i32c(4); op(W.Sub); set(R0 + 4); written |= 1 << 4;
}
// POP to the stack (the caller stores it; POP ESP: the popped value wins).
function popCode(k: u32): void {
  getR(4);
  segs |= 1 << SEG_SS;
  tlbCode(4, FILL_READ, k);
  getR(4); i32c(4); op(W.Add); set(R0 + 4); written |= 1 << 4;
  get(LIN); mem(W.Load, 0);
}

// Jcc: taken goes to its target; not taken falls through.
function jccCode(r: u32, k: u32, cc: u32): void {
  condCode(cc);
  branchIf(branchTarget(r, k), k);
}
// Branch to block offset t when the value on the stack is not 0; the path
// that falls through keeps the flag state it had.
function branchIf(t: u32, k: u32): void {
  open(W.If);
  const saved = fl, savedSz = flSz, savedNone = memNone, savedCf = cfIn;
  takeBranch(t, k);
  fl = saved; flSz = savedSz; memNone = savedNone; cfIn = savedCf;
  close();
}
function branchCode(r: u32, k: u32): void { takeBranch(branchTarget(r, k), k); }

// The branch at record k to block offset t is taken.
function takeBranch(t: u32, k: u32): void {
  const j = recordAt(t);
  if (j > k && j < count) { // forward, inside the block
    joinCode(j);
    if (!memNone) unmark(j, NONE);
    get(BASE); i32c(k + 1 - j); op(W.Add); set(BASE);
    byte(W.Br); uleb(depth - 1 - unchecked(labelOfRecord[j]));
    return;
  }
  if (j == 0 && loops) { // back to the top: another pass if the budget allows one
    get(BASE); i32c(k + 1); op(W.Add); tee(BASE);
    i32c(count); op(W.Add); get(ROOM); op(W.GtU);
    unlikelyIf(); exitAt(0, 0, DONE); close();
    // an INC/DEC at the top reads only CF: every branch back leaves the same state
    if (headCf && !(fl == MEMSTATE && memNone && cfIn)) { carryCode(); set(LCF); fl = MEMSTATE; memNone = true; cfIn = true; }
    if (pass == 0 && loopFl == UNSET) { loopFl = fl; loopSz = flSz; loopNone = memNone; loopCf = cfIn; }
    if (fl == loopFl && (fl == MEMSTATE ? memNone || !loopNone : flSz == loopSz)) {
      if (cfIn && !loopCf) { cfStore(); cfIn = false; }
      else if (!cfIn && loopCf) { carryCode(); set(LCF); cfIn = true; }
      br(TOP_LABEL); // the loop pass
    } else { // another flag state: pass 0 again, which takes the flags from the state
      flush();
      br(AGAIN_LABEL);
    }
    return;
  }
  // back to record j: round the loop if the budget allows another pass. A join
  // that materializes EFLAGS was compiled for paths that leave the lazy op
  // empty (bodyCode): one whose flags are in the state, not known empty, leaves.
  if (j > 0 && j <= k && is(j, BACK) && !(is(j, MAT) && fl == MEMSTATE && !memNone)) {
    get(BASE); i32c(k + 1 - j); op(W.Add); tee(BASE);
    i32c(count); op(W.Add); get(ROOM); op(W.GtU);
    unlikelyIf(); exitAt(unchecked(offs[j]), j, DONE); close();
    joinCode(j);
    i32c(j); set(NEXT);
    br(againLabel);
    return;
  }
  exitTo(t, k + 1);
}
function recordAt(t: u32): u32 {
  for (let j: u32 = 0; j < count; j++) if (unchecked(offs[j]) == t) return j;
  return 0xFFFF;
}

// ---- blocks taken in ----
// A pure region takes in the blocks of its page that its branches and its
// end lead to (and theirs, breadth first) while they have emitters only and
// the region has room: a branch between them is then a wasm branch, where it
// was an exit, a check of the target's slot and a call, and the registers
// stay in locals. They are decoded here from the same page as the block, so the
// block's generation covers them too; a region that stops in one of them
// leaves with resume AT_EIP, and the run loop finds the block at that EIP.
export let membersTaken: u32 = 0; // blocks taken in by the last region
function extendRegion(): void {
  membersTaken = 0;
  // a block that loops on itself keeps its loop small: what follows it runs once per loop
  for (let k: u32 = 0; k < count; k++) if (isBranch(opOf(rec(k))) && recordAt(branchTarget(rec(k), k)) == 0) return;
  for (let k: u32 = 0; k < count && count < MAX_RECORDS; k++) {
    const r = rec(k);
    if (isBranch(opOf(r))) takeIn(branchTarget(r, k));
    if (is(k, END) && !leaves(r)) takeIn(after(k));
  }
}
// Decode the block at offset t of the region (in its page), if it is not in
// it yet, as records count.. of the region; stop before a record without an emitter.
function takeIn(t: u32): void {
  const start = <i32>(blkPhys & 0xFFF) + <i32>t;
  if (start < 0 || start >= 0x1000 || recordAt(t) != 0xFFFF || count >= MAX_RECORDS) return;
  const page = RAM_BASE + (blkPhys & 0xFFFFF000);
  const first = count;
  let at = <u32>start;
  while (count < MAX_RECORDS && at < 0x1000) {
    const r = memberRecs + count * RECORD_SIZE;
    setFetch(page, 0, at, min<u32>(15, 0x1000 - at)); // (not past the page: nextHost 0)
    if (!decode(r, true) || crossedPage || !canEmit(r)) break;
    unchecked(offs[count] = t + (at - <u32>start));
    count++;
    segs |= segsOf(r); compiled++;
    at += load<u8>(r + R_LEN);
    if ((load<u8>(r + R_HFLAGS) & HFlag.Ends) || recordAt(t + (at - <u32>start)) != 0xFFFF) break;
  }
  if (count == first) return;
  mark(count - 1, END);
  membersTaken++;
}

// ---- the function ----
// Segments the memory operands of record r use (LEA uses none).
function segsOf(r: u32): u32 {
  const o = opOf(r);
  if ((o >= 0x50 && o <= 0x5F) || o == 0x68 || o == 0x6A || o == 0xE8 || o == 0xC3 || o == 0xC9) return 1 << SEG_SS;
  if (o == 0xAC || o == 0xAD || (o >= 0xA0 && o <= 0xA3)) return 1 << load<u8>(r + R_SEG); // LODS seg:ESI, moffs
  if (o == 0xAE || o == 0xAF || o == 0xAA || o == 0xAB) return 1 << SEG_ES; // SCAS, STOS ES:EDI
  if (o >= 0xA4 && o <= 0xA7) return (1 << SEG_ES) | (1 << load<u8>(r + R_SEG)); // MOVS, CMPS seg:ESI and ES:EDI
  const stack: u32 = o == 0xFF && (load<u8>(r + R_REG) == 2 || load<u8>(r + R_REG) == 6) ? 1 << SEG_SS : 0; // CALL, PUSH r/m32 push
  if (o == 0x8D || !isMem(r)) return stack;
  return stack | (1 << load<u8>(r + R_SEG));
}

// INC/DEC of a register: it reads only CF, and writes the other five before anything can leave.
function incDecReg(r: u32): bool {
  const e = emitterOf(r);
  return canEmit(r) && (e == Emitter.IncDecReg || (e == Emitter.IncDec && !isMem(r)));
}
// Record k branches (or falls) to record j: a join ahead, the loop to record 0, or a branch back.
function joinTo(j: u32, k: u32): void {
  if (j > k && j < count) mark(j, FWD);
  else if (j == 0 && pure) loops = true;
  else if (j <= k && pure && !is(j, BACK)) { mark(j, BACK); backCount++; }
}

// Emits the body (size-prefixed) at the writer's position; false when the
// region is not worth compiling (too few records with an emitter).
export function compileRegion(block: u32, n: u32, lin: u32): bool {
  memory.fill(marks, 0, MAX_RECORDS + 1);
  blk = block; count = n; entryCount = n; mark(n - 1, END); linkCount = 0; hintCount = 0; entryLin = lin;
  blkPhys = load<u32>(block + B_PHYS_AT); blkKey = load<u32>(block + B_KEY_AT);
  let off: u32 = 0;
  compiled = 0; fallbacks = 0; segs = 0;
  for (let k: u32 = 0; k < n; k++) {
    const r = rec(k);
    unchecked(offs[k] = off);
    off += load<u8>(r + R_LEN);
    if (canEmit(r)) { compiled++; segs |= segsOf(r); } else fallbacks++;
  }
  if (compiled == 0 || fallbacks * 2 > n) return false;
  pure = fallbacks == 0;
  if (pure) extendRegion();
  backCount = 0; loops = false;
  for (let k: u32 = 0; k < count; k++) {
    const r = rec(k);
    if (isBranch(opOf(r)) && canEmit(r)) joinTo(recordAt(branchTarget(r, k)), k);
    if (is(k, END) && !leaves(r)) joinTo(recordAt(after(k)), k);
  }
  n = count;
  for (let j: u32 = 1; j < n; j++) {
    if (!is(j, FWD | BACK) || !readsFlagsFirst(j, n)) continue;
    mark(j, MAT);
    if (incDecReg(rec(j))) mark(j, CF);
  }
  written = 0; readRegs = 0; fl = MEMSTATE; flSz = 0; memNone = false; cfIn = false; depth = 0;

  const sizeAt = reserve5();
  const bodyStart = pos;
  uleb(2); uleb(LOCALS); byte(I32); uleb(1); byte(I64);
  guardCode();
  // blocks taken in run at EIP0 + their offset: CS must allow any EIP
  if (count > entryCount) {
    i32c(0); mem(W.Load, ACTIVE + S_SEG + SEG_CS * SEG_SIZE + SEG_LIMIT); i32c(-1); op(W.Ne);
    unlikelyIf(); earlyReturn(); close();
  }
  // chained to: the whole region must fit in the budget (the run loop checked its block's records)
  get(BEFORE); i32c(n); op(W.Add); get(ROOM); op(W.GtU);
  unlikelyIf(); earlyReturn(NO_ROOM); close();
  get(BEFORE); set(BASE);
  i32c(0); mem(W.Load, ACTIVE + S_EIP); set(EIP0);
  const loadsAt = pos; // the register loads go here once the body says which
  open(W.Block); // EXIT_LABEL
  open(W.Block); // PACKED_LABEL
  open(W.Block); // LAZY_LABEL
  loopFl = UNSET;
  pass = 0;
  headCf = loops && incDecReg(rec(0));
  open(W.Loop); // AGAIN_LABEL
  open(W.Block); // TOP_LABEL in pass 0: its end is the loop's start
  bodyCode(n);
  close();
  if (loopFl != UNSET) {
    pass = 1;
    open(W.Loop); // TOP_LABEL in pass 1
    fl = loopFl; flSz = loopSz; memNone = loopNone; cfIn = loopCf;
    bodyCode(n);
    close();
  }
  close();
  br(EXIT_LABEL); // (falling off the body's end goes straight to the common exit)
  close();
  lazyExit();
  close();
  unpackExit();
  close();
  // the common exit: registers back, EIP, the result
  for (let i: u32 = 0; i < 8; i++) if (written & (1 << i)) { i32c(0); getR(i); storeState(S_GPR + (i << 2)); }
  i32c(0); get(XEIP); storeState(S_EIP);
  // stopped before one of its records: the interpreter goes on in this block (called or chained to)
  get(XRET); i32c(31); op(W.And); i32c(DONE); op(W.Ne);
  open(W.If); i32c(0); i32c(blk); mem(W.Store, JIT_STOP); close();
  if (pure) chainCode();
  get(XRET);
  op(W.End);
  const beforeLoads = pos;
  loadRegisters(loadsAt, readRegs | written);
  // (the loads went in before the exit code: the links' patch points moved)
  const moved = pos - beforeLoads;
  for (let k: u32 = 0; k < linkCount; k++) {
    const l = links + k * L_SIZE;
    for (let f = L_GEN_AT; f <= L_FN_AT; f += 4) store<u32>(l + f, load<u32>(l + f) + moved);
  }
  for (let h: u32 = 0; h < hintCount; h++) { // made offsets in the function body
    const at = load<u32>(hints + h * 4);
    store<u32>(hints + h * 4, (at >= loadsAt ? at + moved : at) - bodyStart);
  }
  patch5(sizeAt, pos - bodyStart);
  return true;
}

// Insert at `at` the loads of the registers in `mask`: written at the end,
// copied past themselves, and moved in front of the code emitted since `at`.
function loadRegisters(at: u32, mask: u32): void {
  const end = pos;
  for (let i: u32 = 0; i < 8; i++) if (mask & (1 << i)) { i32c(0); mem(W.Load, ACTIVE + S_GPR + (i << 2)); set(R0 + i); }
  const n = pos - end;
  for (let i: u32 = 0; i < n; i++) byte(0); // room for the copy (sets overflow when there is none)
  if (overflow) return;
  memory.copy(end + n, end, n);
  memory.copy(at + n, at, end - at);
  memory.copy(at, end + n, n);
  setPos(end + n);
}

// Whether the code from record j on reads the flags before it writes them all:
// then the paths that join at j materialize EFLAGS (the lazy state left empty),
// so a Jcc reads EFLAGS bits and INC/DEC keeps CF without asking the core.
function readsFlagsFirst(j: u32, n: u32): bool {
  for (let k = j; k < n; k++) {
    const r = rec(k);
    if (!canEmit(r)) return false;
    switch (emitterOf(r)) {
      case Emitter.Jcc: case Emitter.Setcc: case Emitter.Cmov: case Emitter.IncDec: case Emitter.IncDecReg: return true;
      case Emitter.Alu: { const kind = opOf(r) >= 0x80 ? <u32>load<u8>(r + R_REG) : opOf(r) >> 3; return kind == 2 || kind == 3; } // ADC, SBB
      case Emitter.Mov: case Emitter.Lea: case Emitter.PushReg: case Emitter.PopReg: case Emitter.PushImm: case Emitter.PushE: case Emitter.Xchg: case Emitter.Leave:
      case Emitter.JmpE:
      case Emitter.Nop: case Emitter.Movx: case Emitter.Not: case Emitter.Cwde: case Emitter.Cdq: case Emitter.PortIo: case Emitter.Cpuid: case Emitter.Rdtsc:
      case Emitter.Lods: case Emitter.Stos: case Emitter.Movs: case Emitter.Loop: case Emitter.Moffs: if (is(k, END)) return false; continue;
      default: return false;
    }
  }
  return false;
}

// One pass over the block's records, and the exit after the last.
function bodyCode(n: u32): void {
  // (a branch back to a join whose code reads the flags first leaves them known to be
  // whole in EFLAGS, or leaves the region; at other joins a branch back makes no such promise)
  for (let j: u32 = 0; j < n; j++) if (is(j, BACK) && !is(j, MAT | CF)) unmark(j, NONE); else mark(j, NONE);
  if (backCount) { againLabel = depth; open(W.Loop); }
  for (let j: i32 = <i32>n - 1; j > 0; j--) if (is(j, FWD | BACK)) { unchecked(labelOfRecord[j] = depth); open(W.Block); }
  if (backCount) { // round the loop: on to the record a branch back named
    get(NEXT); set(T0); i32c(0); set(NEXT);
    for (let j: u32 = 1; j < n; j++) {
      if (!is(j, BACK)) continue;
      get(T0); if (backCount > 1) { i32c(j); op(W.Eq); }
      byte(W.BrIf); uleb(depth - 1 - unchecked(labelOfRecord[j]));
    }
  }
  for (let k: u32 = 0; k < n; k++) {
    if (k > 0 && is(k, FWD | BACK)) { // a join: the flags are in the state on every path
      joinCode(k);
      const none = memNone && is(k, NONE);
      close();
      memNone = none;
    }
    const r = rec(k);
    if (canEmit(r)) emitRecord(r, k);
    else fallbackCode(r, k);
    // the end of a block: on to what follows it (the next record in the
    // region is another block's, reached only by branches)
    if (is(k, END) && !leaves(r)) takeBranch(after(k), k);
  }
  if (backCount) close();
}
// Whether record r always leaves or branches (nothing falls through it).
function leaves(r: u32): bool {
  if (!canEmit(r)) return false;
  const e = emitterOf(r);
  return e == Emitter.Jmp || e == Emitter.Call || e == Emitter.Ret || e == Emitter.JmpE;
}

// Nothing run: BEFORE << 5, resume at record 0 of this block (or NO_ROOM),
// so the interpreter runs it.
function earlyReturn(resume: u32 = 0): void {
  i32c(0); i32c(blk); mem(W.Store, JIT_STOP);
  get(BEFORE); i32c(5); op(W.Shl);
  if (resume) { i32c(resume); op(W.Or); }
  op(W.Return);
}

// At an exit to a block that has a region and is current (the block-cache slot
// holds that block, decoded from this generation of its page), and whose start
// is within the CS limit: name its region at JIT_CHAIN for jitRun to call.
// That region may have fallbacks: this (pure) region changed nothing the run
// loop checks between blocks, so entering the next one here is what the run
// loop would do; one with fallbacks returns instead of chaining on.
function chainCode(): void {
  get(XNEXT);
  open(W.If);
  get(XNEXT); mem(W.Load, B_KEY_AT); i32c(blkKey); op(W.Ne);
  get(XNEXT); mem(W.Load, B_PHYS_AT); get(XPHYS); op(W.Ne); op(W.Or);
  get(XNEXT); mem(W.Load, B_GEN_AT); tee(T1);
  get(XPHYS); i32c(12); op(W.ShrU); i32c(2); op(W.Shl); mem(W.Load, PAGE_INFO); i32c(PageInfo.Generation); op(W.And);
  op(W.Ne); op(W.Or);
  get(XNEXT); mem(W.Load, B_JIT_AT); tee(T0); op(W.Eqz); op(W.Or); // a region (pure or not)
  get(XEIP); i32c(0); mem(W.Load, ACTIVE + S_SEG + SEG_CS * SEG_SIZE + SEG_LIMIT); op(W.GtU); op(W.Or);
  op(W.Eqz);
  open(W.If);
  for (let k: u32 = 0; k < linkCount; k++) linkCode(k);
  i32c(0); get(T0); mem(W.Store, JIT_CHAIN);
  close();
  close();
}

// ---- branch hints ----
// The `if`s of the slow paths (a TLB miss, a failed guard, no room in the
// budget, a fallback that ends the block) are marked unlikely in the module's branch-hint section (tier.ts
// jitFlush): V8 then lays their code out of line and keeps the fast path's
// values in registers, instead of spilling every value that a slow path's
// call would clobber where it is defined. A region of 128 records has that
// many (at 64, Linux's decompressor's regions lost 2264 of their 16601 hints).
export const MAX_HINTS: u32 = 256;
export let hintCount: u32 = 0;
export const hints: usize = memory.data(MAX_HINTS * 4); // each hinted `if`: its position, then its offset in the body
function unlikelyIf(): void {
  if (hintCount < MAX_HINTS) store<u32>(hints + hintCount++ * 4, pos);
  open(W.If);
}

// ---- direct links ----
// A pure region's exits to blocks of its page are its links. When jitFlush
// finds the region of such a block (in the same batch, or installed by an
// earlier module, which the new module then imports), the exit tail-calls that
// function directly instead of going back to jitRun and its call_indirect.
// The function is right for the block as long as the block-cache slot holds
// the block decoded from the same generation of the page, with the same
// records: the link checks the generation and count it was compiled from,
// which jitFlush patches in (with the function) once it knows them; a link
// it finds no region for gets a generation no block has and never runs.
export const MAX_LINKS: u32 = 4;
export let linkCount: u32 = 0;
// Per link: the target's guest-physical address, and where (in the code
// buffer) the 5-byte operands of the generation's i32.const, the record
// count's and return_call's function index are.
export const L_PHYS: u32 = 0;
export const L_GEN_AT: u32 = 4;
export const L_COUNT_AT: u32 = 8;
export const L_FN_AT: u32 = 12;
export const L_SIZE: u32 = 16;
export const links: usize = memory.data(MAX_LINKS * L_SIZE);
export const NO_GENERATION: u32 = 0xFFFFFFFF; // (generations are PageInfo.Generation's 29 bits)

function addLink(phys: u32): void {
  for (let k: u32 = 0; k < linkCount; k++) if (load<u32>(links + k * L_SIZE + L_PHYS) == phys) return;
  if (linkCount < MAX_LINKS) store<u32>(links + linkCount++ * L_SIZE + L_PHYS, phys);
}
// At the common exit, with XNEXT's slot checked to hold the block at XPHYS
// (T1: its generation): if that is link k's block, compiled from the
// generation and records the link names, tail-call the link's function.
function linkCode(k: u32): void {
  const l = links + k * L_SIZE;
  get(XPHYS); i32c(load<u32>(l + L_PHYS)); op(W.Eq);
  get(T1); byte(W.Const); store<u32>(l + L_GEN_AT, reserve5()); op(W.Eq); op(W.And);
  get(XNEXT); mem(W.Load, B_COUNT_AT); byte(W.Const); store<u32>(l + L_COUNT_AT, reserve5()); op(W.Eq); op(W.And);
  open(W.If);
  get(ROOM); get(ACCESS); get(XRET); i32c(5); op(W.ShrU);
  byte(W.ReturnCall); store<u32>(l + L_FN_AT, reserve5());
  close();
}
export const REGION_TYPE: u32 = 1; // (room, access, before) -> packed, in the module's type section

// The entry guard: every segment a memory operand uses must be flat (base 0,
// offsets 0..4 GiB-1, readable and writable) and SS 32-bit; otherwise the
// function returns 0 (nothing run, resume at record 0). FS and GS may have
// any base (Linux's per-CPU data, thread-local storage): it goes to a local.
function guardCode(): void {
  if (!segs) return;
  // a region chained or linked to skips the segments checked since jitRun
  // entered the first one (nothing a pure region runs loads a segment)
  i32c(0); mem(W.Load, JIT_SEGS); i32c(segs); op(W.And); i32c(segs); op(W.Ne);
  unlikelyIf();
  let conds: u32 = 0;
  for (let s: u32 = 0; s < 6; s++) {
    if (!(segs & (1 << s))) continue;
    const a = ACTIVE + S_SEG + s * SEG_SIZE;
    const based = s == SEG_FS || s == SEG_GS;
    if (!based) { i32c(0); mem(W.Load, a + SEG_BASE); }
    i32c(0); mem(W.Load, a + SEG_LO); if (!based) op(W.Or);
    i32c(0); mem(W.Load, a + SEG_HI); i32c(-1); op(W.Xor); op(W.Or);
    i32c(0); mem(W.Load, a + SEG_RIGHTS); i32c(3); op(W.And); i32c(3); op(W.Xor); op(W.Or);
    if (s == SEG_SS) { i32c(0); mem(W.Load, a + SEG_ATTR); i32c(0x4000); op(W.And); op(W.Eqz); op(W.Or); }
    if (conds) op(W.Or);
    conds++;
  }
  unlikelyIf(); earlyReturn(); close();
  i32c(0); i32c(0); mem(W.Load, JIT_SEGS); i32c(segs); op(W.Or); mem(W.Store, JIT_SEGS);
  close();
  if (segs & (1 << SEG_FS)) { i32c(0); mem(W.Load, ACTIVE + S_SEG + SEG_FS * SEG_SIZE + SEG_BASE); set(FSB); }
  if (segs & (1 << SEG_GS)) { i32c(0); mem(W.Load, ACTIVE + S_SEG + SEG_GS * SEG_SIZE + SEG_BASE); set(GSB); }
}

// An instruction without an emitter: its interpreter handler runs in the core
// (registers and flags go back to the state first, and are reloaded after).
function fallbackCode(r: u32, k: u32): void {
  flush();
  for (let i: u32 = 0; i < 8; i++) if (written & (1 << i)) { i32c(0); getR(i); storeState(S_GPR + (i << 2)); }
  i32c(r);
  get(EIP0); if (unchecked(offs[k])) { i32c(unchecked(offs[k])); op(W.Add); }
  get(BASE); if (k) { i32c(k); op(W.Add); }
  call(F_STEP); set(T0);
  memNone = false;
  for (let i: u32 = 0; i < 8; i++) { i32c(0); mem(W.Load, ACTIVE + S_GPR + (i << 2)); set(R0 + i); }
  get(T0);
  unlikelyIf();
  // 1: retired, and the block ends at the handler's EIP; 2: aborted, not retired
  i32c(0); mem(W.Load, ACTIVE + S_EIP); set(XEIP);
  get(BASE); i32c(k); op(W.Add); get(T0); i32c(1); op(W.Eq); op(W.Add);
  i32c(5); op(W.Shl);
  i32c(DONE); i32c(k); get(T0); i32c(1); op(W.Eq); op(W.Select);
  op(W.Or); set(XRET);
  br(EXIT_LABEL);
  close();
  // a segment load the block goes on after: the entry guard and the FS/GS
  // bases in locals assumed the old segment, so the interpreter runs the rest
  if (loadsSegment(opOf(r)) && k + 1 < entryCount) exitAt(unchecked(offs[k + 1]), k + 1, k + 1);
}
// LES, LDS, LFS, LGS, POP ES/DS/FS/GS (LSS, POP SS and MOV Sreg end the block themselves)
@inline function loadsSegment(o: u32): bool {
  return o == 0xC4 || o == 0xC5 || o == 0x1B4 || o == 0x1B5 || o == 0x07 || o == 0x1F || o == 0x1A1 || o == 0x1A9;
}
