// Lazy arithmetic flags: a flag-setting instruction records its operands and
// result; CF/PF/AF/ZF/SF/OF are computed only when something reads them.
import { ACTIVE, S_EFLAGS, S_LAZY_OP, S_LAZY_SIZE, S_LAZY_A, S_LAZY_B, S_LAZY_R, S_CF_OP, S_CF_SIZE, S_CF_A, S_CF_B, S_CF_R } from "../layout";
import { CF, PF, AF, ZF, SF, OF, ARITH_FLAGS } from "./state";
import { CHECKS } from "./fault";

export const enum LazyOp {
  None = 0,  // arithmetic flags are in S_EFLAGS
  Add = 1,   // also ADC with carry-in 0
  Adc = 2,   // ADC with carry-in 1
  Sub = 3,   // also SBB with borrow-in 0, CMP, NEG (a = 0)
  Sbb = 4,   // SBB with borrow-in 1
  Logic = 5, // AND OR XOR TEST: CF = OF = 0
  Inc = 6,   // CF: the CF record's (S_CF_*: the record INC replaced; None: S_EFLAGS')
  Dec = 7,   // CF: the CF record's
  Shift = 8, // SHL SHR SAR: A holds CF, AF and OF as EFLAGS bits (B is not used)
}

@inline export function sizeMask(sz: u32): u32 { return sz == 2 ? 0xFFFFFFFF : (sz == 1 ? 0xFFFF : 0xFF); }
@inline export function signBit(sz: u32): u32 { return sz == 2 ? 0x80000000 : (sz == 1 ? 0x8000 : 0x80); }

// The lazy record's size as a mask and as its sign bit: one load from a table
// instead of the compare chain sizeMask and signBit make of a run-time size.
const LAZY_MASKS: u32 = <u32>memory.data<u32>([0xFF, 0xFFFF, 0xFFFFFFFF]);
const LAZY_SIGNS: u32 = <u32>memory.data<u32>([0x80, 0x8000, 0x80000000]);
@inline function lazyMask(): u32 { return load<u32>(LAZY_MASKS + (load<u32>(ACTIVE + S_LAZY_SIZE) << 2)); }
@inline function lazySign(): u32 { return load<u32>(LAZY_SIGNS + (load<u32>(ACTIVE + S_LAZY_SIZE) << 2)); }

@inline export function setLazy(op: u32, sz: u32, a: u32, b: u32, r: u32): void {
  store<u32>(ACTIVE + S_LAZY_OP, op);
  store<u32>(ACTIVE + S_LAZY_SIZE, sz);
  store<u32>(ACTIVE + S_LAZY_A, a);
  store<u32>(ACTIVE + S_LAZY_B, b);
  store<u32>(ACTIVE + S_LAZY_R, r);
}

// INC/DEC leave CF alone: the record they replace becomes the CF record, whose
// CF is theirs (after an INC or DEC the CF record stays). Copied, not computed:
// no branch on the replaced record's kind, and nothing waits for its operands.
@inline export function setLazyIncDec(op: u32, sz: u32, a: u32, r: u32): void {
  const was = load<u32>(ACTIVE + S_LAZY_OP);
  if (was - LazyOp.Inc > 1) {
    store<u32>(ACTIVE + S_CF_OP, was);
    store<u32>(ACTIVE + S_CF_SIZE, load<u32>(ACTIVE + S_LAZY_SIZE));
    store<u32>(ACTIVE + S_CF_A, load<u32>(ACTIVE + S_LAZY_A));
    store<u32>(ACTIVE + S_CF_B, load<u32>(ACTIVE + S_LAZY_B));
    store<u32>(ACTIVE + S_CF_R, load<u32>(ACTIVE + S_LAZY_R));
  }
  setLazy(op, sz, a, 1, r);
}

// SHL/SHR/SAR: ZF SF PF come from the result, the other three are known
// already (`bits`: CF AF OF in their EFLAGS positions).
@inline export function setLazyShift(sz: u32, bits: u32, r: u32): void {
  store<u32>(ACTIVE + S_LAZY_OP, LazyOp.Shift);
  store<u32>(ACTIVE + S_LAZY_SIZE, sz);
  store<u32>(ACTIVE + S_LAZY_A, bits);
  store<u32>(ACTIVE + S_LAZY_R, r);
}

// Parity of the low byte: 1 when it has an even number of set bits.
@inline export function parity(v: u32): u32 {
  const x = (v ^ (v >> 4)) & 0xF;
  return (0x9669 >> x) & 1;
}

// The carry out of an ADD, ADC, SUB or SBB record (A, B and R; m its size's
// mask), and OF of a record of kind op (s its sign bit): the one place their
// formulas live (carry, overflow, and lazyCondition, where op is a constant and
// only its own formula is left). CF of the other kinds: carry.
@inline function arithCarry(op: u32, m: u32, a: u32, b: u32, r: u32): bool {
  switch (op) {
    case LazyOp.Add: return (r & m) < (a & m);
    case LazyOp.Adc: return (r & m) <= (a & m);
    case LazyOp.Sub: return (a & m) < (b & m);
    default: return (a & m) <= (b & m); // Sbb
  }
}
@inline function overflowOf(op: u32, s: u32, a: u32, b: u32, r: u32): bool {
  switch (op) {
    case LazyOp.Add: case LazyOp.Adc: case LazyOp.Inc: return ((~(a ^ b)) & (a ^ r) & s) != 0;
    case LazyOp.Sub: case LazyOp.Sbb: case LazyOp.Dec: return ((a ^ b) & (a ^ r) & s) != 0;
    case LazyOp.Logic: return false;
    case LazyOp.Shift: return (a & OF) != 0;
    default: return (load<u32>(ACTIVE + S_EFLAGS) & OF) != 0; // None
  }
}

@inline export function carry(): u32 {
  const op = load<u32>(ACTIVE + S_LAZY_OP);
  // SUB and CMP first: the flags JB, JAE, JA and JBE most often test
  if (op == LazyOp.Sub) {
    const m = lazyMask();
    return u32((load<u32>(ACTIVE + S_LAZY_A) & m) < (load<u32>(ACTIVE + S_LAZY_B) & m));
  }
  if (op - LazyOp.Inc <= 1) return incDecCarry();
  return recordCarry(op, ACTIVE + S_LAZY_OP);
}

// CF of a record of kind op (not Inc or Dec) whose size, A, B and R follow its
// kind at rec: the lazy record, or the CF record (layout.ts: both in that order).
const SIZE_AT: u32 = S_LAZY_SIZE - S_LAZY_OP, A_AT: u32 = S_LAZY_A - S_LAZY_OP, B_AT: u32 = S_LAZY_B - S_LAZY_OP, R_AT: u32 = S_LAZY_R - S_LAZY_OP;
@inline function recordCarry(op: u32, rec: u32): u32 {
  // None: CF is EFLAGS' bit 0; Shift: A's (one unsigned compare)
  if (op - 1 >= <u32>LazyOp.Inc - 1) return load<u32>(op == LazyOp.Shift ? rec + A_AT : ACTIVE + S_EFLAGS) & CF;
  if (op == LazyOp.Logic) return 0;
  const m = load<u32>(LAZY_MASKS + (load<u32>(rec + SIZE_AT) << 2));
  return u32(arithCarry(op, m, load<u32>(rec + A_AT), load<u32>(rec + B_AT), load<u32>(rec + R_AT)));
}

// CF after an INC or DEC: the CF record's.
function incDecCarry(): u32 { return recordCarry(load<u32>(ACTIVE + S_CF_OP), ACTIVE + S_CF_OP); }

@inline function resultMasked(): u32 {
  return load<u32>(ACTIVE + S_LAZY_R) & lazyMask();
}

export function zero(): bool {
  if (load<u32>(ACTIVE + S_LAZY_OP) == LazyOp.None) return (load<u32>(ACTIVE + S_EFLAGS) & ZF) != 0;
  return resultMasked() == 0;
}

export function sign(): bool {
  if (load<u32>(ACTIVE + S_LAZY_OP) == LazyOp.None) return (load<u32>(ACTIVE + S_EFLAGS) & SF) != 0;
  return (load<u32>(ACTIVE + S_LAZY_R) & lazySign()) != 0;
}

export function overflow(): bool {
  const op = load<u32>(ACTIVE + S_LAZY_OP);
  if (op == LazyOp.None) return (load<u32>(ACTIVE + S_EFLAGS) & OF) != 0;
  return overflowOf(op, lazySign(), load<u32>(ACTIVE + S_LAZY_A), load<u32>(ACTIVE + S_LAZY_B), load<u32>(ACTIVE + S_LAZY_R));
}

export function parityFlag(): bool {
  if (load<u32>(ACTIVE + S_LAZY_OP) == LazyOp.None) return (load<u32>(ACTIVE + S_EFLAGS) & PF) != 0;
  return parity(load<u32>(ACTIVE + S_LAZY_R)) != 0;
}

function auxCarry(): u32 {
  const op = load<u32>(ACTIVE + S_LAZY_OP);
  if (op == LazyOp.None) return load<u32>(ACTIVE + S_EFLAGS) & AF;
  if (op == LazyOp.Logic) return 0;
  if (op == LazyOp.Shift) return load<u32>(ACTIVE + S_LAZY_A) & AF;
  return (load<u32>(ACTIVE + S_LAZY_A) ^ load<u32>(ACTIVE + S_LAZY_B) ^ load<u32>(ACTIVE + S_LAZY_R)) & AF;
}

// The full EFLAGS value, with the lazy flags computed.
export function getFlags(): u32 {
  const f = load<u32>(ACTIVE + S_EFLAGS);
  if (load<u32>(ACTIVE + S_LAZY_OP) == LazyOp.None) return f;
  let v = f & ~ARITH_FLAGS;
  v |= carry();
  if (parityFlag()) v |= PF;
  v |= auxCarry();
  if (zero()) v |= ZF;
  if (sign()) v |= SF;
  if (overflow()) v |= OF;
  return v;
}

// Bits a Pentium Pro-class EFLAGS can hold: CF PF AF ZF SF TF IF DF OF IOPL NT RF VM AC VIF VIP ID.
const DEFINED_FLAGS: u32 = 0x3F7FD5;

// Store EFLAGS as a whole (reserved bits 3, 5, 15 and 22-31 read as 0, bit 1
// as 1, whatever IRET or the host wrote); the lazy record is dropped.
@inline export function setFlagsRaw(v: u32): void {
  store<u32>(ACTIVE + S_EFLAGS, (v & DEFINED_FLAGS) | 2);
  store<u32>(ACTIVE + S_LAZY_OP, LazyOp.None);
}

// CF of a lazy record of kind op: carry's cases, with op known (only the
// conditions that read CF call it: after an INC or DEC that is a call).
@inline function lazyCarry(op: u32, m: u32, a: u32, b: u32, r: u32): bool {
  return op == LazyOp.Logic ? false : op == LazyOp.Shift ? (a & CF) != 0
    : op == LazyOp.Inc || op == LazyOp.Dec ? incDecCarry() != 0 : arithCarry(op, m, a, b, r);
}

// Condition c (a Jcc's cc >> 1) right after an instruction that left the lazy
// record kind `op` at size `sz`: condition(c << 1), with op and sz constants (the
// run loop's fused pairs, gen-opcodes.mjs), so only the flags c reads are made.
@inline export function lazyCondition(op: u32, sz: u32, c: u32): bool {
  if (CHECKS && (load<u32>(ACTIVE + S_LAZY_OP) != op || load<u32>(ACTIVE + S_LAZY_SIZE) != sz)) unreachable();
  const m = sizeMask(sz), s = signBit(sz);
  const a = load<u32>(ACTIVE + S_LAZY_A), b = load<u32>(ACTIVE + S_LAZY_B);
  // a dword compare: the orders are one compare of its operands
  if (op == LazyOp.Sub && sz == 2) {
    if (c == 1) return a < b;
    if (c == 2) return a == b;
    if (c == 3) return a <= b;
    if (c == 6) return <i32>a < <i32>b;
    if (c == 7) return <i32>a <= <i32>b;
  }
  const r = load<u32>(ACTIVE + S_LAZY_R);
  const ov = overflowOf(op, s, a, b, r);
  const zf = (r & m) == 0, sf = (r & s) != 0;
  switch (c) {
    case 0: return ov;
    case 1: return lazyCarry(op, m, a, b, r);
    case 2: return zf;
    case 3: return lazyCarry(op, m, a, b, r) || zf;
    case 4: return sf;
    case 5: return parity(r) != 0;
    case 6: return sf != ov;
    default: return zf || sf != ov;
  }
}

// Condition code tt of Jcc/SETcc/CMOVcc.
@inline export function condition(cc: u32): bool {
  // after a 32-bit SUB or CMP, the conditions that combine flags (BE/A, L/GE,
  // LE/G) are one compare of its operands; cc is a constant where it matters
  // (the Jcc cases of the run loop), so only that compare remains
  const c = cc >> 1;
  if ((c == 3 || c == 6 || c == 7) && load<u32>(ACTIVE + S_LAZY_OP) == LazyOp.Sub && load<u32>(ACTIVE + S_LAZY_SIZE) == 2) {
    return lazyCondition(LazyOp.Sub, 2, c) != ((cc & 1) != 0);
  }
  let r: bool;
  switch (cc >> 1) {
    case 0: r = overflow(); break;
    case 1: r = carry() != 0; break;
    case 2: r = zero(); break;
    case 3: r = carry() != 0 || zero(); break;
    case 4: r = sign(); break;
    case 5: r = parityFlag(); break;
    case 6: r = sign() != overflow(); break;
    default: r = zero() || (sign() != overflow()); break;
  }
  return (cc & 1) ? !r : r;
}
