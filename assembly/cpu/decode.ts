// The decoder: guest bytes -> a fixed 32-byte record the executor runs from.
// Records are made once per instruction and kept in the block cache.
import { RECORD_SIZE } from "../layout";

// ---- record layout ----
export const R_OP: u32 = 0;      // u16 handler id: opcode, | 0x100 for the 0F map, or Op.*
export const R_LEN: u32 = 2;     // u8 instruction length in bytes
export const R_ATTR: u32 = 3;    // u8 Attr bits
export const R_REG: u32 = 4;     // u8 ModRM reg field (or the register in the opcode)
export const R_RM: u32 = 5;      // u8 ModRM rm field
export const R_SEG: u32 = 6;     // u8 segment of the memory operand
export const R_BASE: u32 = 7;    // u8 base register, NO_REG = none
export const R_INDEX: u32 = 8;   // u8 index register, NO_REG = none
export const R_SCALE: u32 = 9;   // u8 index shift
export const R_MODRM: u32 = 10;  // u8 the raw ModRM byte
export const R_PREFIX: u32 = 11; // u8 number of prefix bytes
export const R_DISP: u32 = 12;   // u32 displacement (also moffs)
export const R_IMM: u32 = 16;    // u32 immediate (sign-extended where the encoding says so)
export const R_IMM2: u32 = 20;   // u32 second immediate (far selector, ENTER level)
export const R_BYTES: u32 = 24;  // u32 opcode bytes (and ModRM), first in the low byte; count in bits 24-31
export const NO_REG: u32 = 8;

export const enum Attr {
  O32 = 1,    // 32-bit operand size
  A32 = 2,    // 32-bit address size
  Mem = 4,    // ModRM names memory (mod != 3)
  Rep = 8,    // F3
  Repne = 16, // F2
  Lock = 32,
  SegOverride = 64,
}

// Handler ids past the two opcode maps.
export const enum Op {
  Invalid = 0x200,       // #UD: the architecture defines no such instruction
  Unimplemented = 0x201, // #UD: defined, but this core does not implement it (yet)
  TooLong = 0x202,       // more than 15 bytes: #GP(0)
}

// Properties of each opcode.
const M: u16 = 1;    // has ModRM
const B: u16 = 2;    // imm8
const V: u16 = 4;    // imm16/32 by operand size
const W: u16 = 8;    // imm16
const A: u16 = 16;   // moffs: an address-size displacement
const F: u16 = 32;   // far pointer: imm16/32 offset then imm16 selector
const X: u16 = 64;   // invalid opcode (#UD)
const G3: u16 = 128; // F6/F7: TEST /0 /1 carries an immediate
const R: u16 = 256;  // ModRM always names registers: mod is ignored (MOV CR/DR)

// One-byte map. Prefix bytes are consumed before the table is read.
const ONE: StaticArray<u16> = [
  /* 00 */ M, M, M, M, B, V, 0, 0, M, M, M, M, B, V, 0, 0,
  /* 10 */ M, M, M, M, B, V, 0, 0, M, M, M, M, B, V, 0, 0,
  /* 20 */ M, M, M, M, B, V, 0, 0, M, M, M, M, B, V, 0, 0,
  /* 30 */ M, M, M, M, B, V, 0, 0, M, M, M, M, B, V, 0, 0,
  /* 40 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  /* 50 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  /* 60 */ 0, 0, M, M, 0, 0, 0, 0, V, M | V, B, M | B, 0, 0, 0, 0,
  /* 70 */ B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
  /* 80 */ M | B, M | V, M | B, M | B, M, M, M, M, M, M, M, M, M, M, M, M,
  /* 90 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, F, 0, 0, 0, 0, 0,
  /* A0 */ A, A, A, A, 0, 0, 0, 0, B, V, 0, 0, 0, 0, 0, 0,
  /* B0 */ B, B, B, B, B, B, B, B, V, V, V, V, V, V, V, V,
  /* C0 */ M | B, M | B, W, 0, M, M, M | B, M | V, W | B, 0, W, 0, 0, B, 0, 0,
  /* D0 */ M, M, M, M, B, B, 0, 0, M, M, M, M, M, M, M, M,
  /* E0 */ B, B, B, B, B, B, B, B, V, V, F, B, 0, 0, 0, 0,
  /* F0 */ 0, 0, 0, 0, 0, 0, M | G3, M | G3, 0, 0, 0, 0, 0, 0, M, M,
];

// 0F map: the integer instructions of a Pentium Pro; X where the CPU raises #UD.
const TWO: StaticArray<u16> = [
  /* 00 */ M, M, M, M, X, X, 0, X, 0, 0, X, X, X, X, X, X,
  /* 10 */ X, X, X, X, X, X, X, X, M, M, M, M, M, M, M, M,
  /* 20 */ M | R, M | R, M | R, M | R, X, X, X, X, X, X, X, X, X, X, X, X,
  /* 30 */ 0, 0, 0, 0, X, X, X, X, X, X, X, X, X, X, X, X,
  /* 40 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
  /* 50 */ X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  /* 60 */ X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  /* 70 */ X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  /* 80 */ V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V,
  /* 90 */ M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
  /* A0 */ 0, 0, 0, M, M | B, M, X, X, 0, 0, X, M, M | B, M, X, M,
  /* B0 */ M, M, M, M, M, M, M, M, X, X, M | B, M, M, M, M, M,
  /* C0 */ M, M, X, X, X, X, X, M, 0, 0, 0, 0, 0, 0, 0, 0,
  /* D0 */ X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  /* E0 */ X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  /* F0 */ X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
];

// ModRM forms the architecture leaves undefined (#UD), whatever follows.
function invalidForm(op: u32, mod: u32, reg: u32): bool {
  switch (op) {
    case 0x62: case 0x8D: case 0xC4: case 0xC5: // BOUND, LEA, LES, LDS: memory only
    case 0x1B2: case 0x1B4: case 0x1B5:          // LSS, LFS, LGS
      return mod == 3;
    case 0x8C: return reg > 5;                   // MOV r/m,Sreg
    case 0x8E: return reg > 5 || reg == 1;       // MOV Sreg,r/m: not CS
    case 0x8F: case 0xC6: case 0xC7: return reg != 0;
    case 0xFE: return reg > 1;
    case 0xFF: return reg == 7 || (mod == 3 && (reg == 3 || reg == 5)); // far CALL/JMP take memory
    case 0x100: return reg > 5;
    case 0x101: return reg == 5 || (mod == 3 && reg != 4 && reg != 6); // only SMSW/LMSW take a register
    case 0x120: case 0x122: return reg == 1 || reg > 4; // CR0, CR2-CR4
    case 0x1BA: return reg < 4;
    case 0x1C7: return reg != 1 || mod == 3;     // CMPXCHG8B m64
    default: return false;
  }
}

// Whether LOCK may precede this opcode (with a memory destination).
function lockable(op: u32, reg: u32): bool {
  if (op < 0x40) return (op & 7) < 2 && (op >> 3) != 7; // ALU Eb,Gb / Ev,Gv, not CMP
  switch (op) {
    case 0x80: case 0x81: case 0x82: case 0x83: return reg != 7;
    case 0x86: case 0x87: return true;
    case 0xF6: case 0xF7: return reg == 2 || reg == 3;
    case 0xFE: case 0xFF: return reg < 2;
    case 0x1AB: case 0x1B3: case 0x1BB: case 0x1B0: case 0x1B1: case 0x1C0: case 0x1C1: return true;
    case 0x1BA: return reg >= 5;
    case 0x1C7: return reg == 1;
    default: return false;
  }
}

// ---- byte source: the decoder reads through these, set by the caller ----
// The block builder points `fetchBase` at the host address of the code page
// (and `fetchNext` at the next page's, or 0 when it is not mapped).
export let fetchBase: u32 = 0;   // host address of the page holding the first byte
export let fetchNext: u32 = 0;   // host address of the next page, 0 = not available
export let fetchStart: u32 = 0;  // page offset of the instruction's first byte
export let fetchLimit: u32 = 0;  // bytes available before the CS limit (clamped to 16)
export let crossedPage: bool = false;
export let fetchFailed: bool = false; // ran past the available bytes

export function setFetch(base: u32, next: u32, start: u32, limit: u32): void {
  fetchBase = base; fetchNext = next; fetchStart = start; fetchLimit = limit;
  crossedPage = false; fetchFailed = false;
}

@inline function byteAt(i: u32): u32 {
  if (i >= fetchLimit) { fetchFailed = true; return 0; }
  const o = fetchStart + i;
  if (o < 0x1000) return load<u8>(fetchBase + o);
  crossedPage = true;
  if (fetchNext == 0) { fetchFailed = true; return 0; }
  return load<u8>(fetchNext + o - 0x1000);
}

// Decode one instruction into the record at `rec`. `big` is the CS D bit.
// Returns false when the bytes ran out (the caller handles the fetch fault).
export function decode(rec: u32, big: bool): bool {
  let i: u32 = 0;
  let attr: u32 = big ? (Attr.O32 | Attr.A32) : 0;
  let seg: u32 = 0xFF;
  let b: u32;
  // prefixes
  while (true) {
    b = byteAt(i);
    if (fetchFailed) return false;
    if (b == 0x26 || b == 0x2E || b == 0x36 || b == 0x3E) { seg = (b >> 3) & 3; attr |= Attr.SegOverride; }
    else if (b == 0x64 || b == 0x65) { seg = b - 0x60; attr |= Attr.SegOverride; }
    else if (b == 0x66) attr ^= (attr & Attr.O32) ^ (big ? 0 : Attr.O32);
    else if (b == 0x67) attr ^= (attr & Attr.A32) ^ (big ? 0 : Attr.A32);
    else if (b == 0xF0) attr |= Attr.Lock;
    else if (b == 0xF2) attr = (attr & ~Attr.Rep) | Attr.Repne;
    else if (b == 0xF3) attr = (attr & ~Attr.Repne) | Attr.Rep;
    else break;
    i++;
    if (i >= 15) return finish(rec, Op.TooLong, 15, attr, i);
  }
  const prefixes = i;
  let op = b;
  i++;
  let props: u32;
  let bytes: u32 = b;
  let shown: u32 = 1; // opcode bytes recorded in R_BYTES (count in the top byte)
  if (b == 0x0F) {
    const b2 = byteAt(i);
    if (fetchFailed) return false;
    i++;
    op = 0x100 | b2;
    bytes |= b2 << 8;
    shown = 2;
    props = unchecked(TWO[b2]);
  } else {
    props = unchecked(ONE[b]);
  }
  store<u32>(rec + R_BYTES, bytes | (shown << 24));
  // ModRM, SIB and displacement
  let reg: u32 = 0, rm: u32 = 0, base: u32 = NO_REG, index: u32 = NO_REG, scale: u32 = 0, disp: u32 = 0, modrm: u32 = 0;
  if (props & M) {
    modrm = byteAt(i++);
    if (fetchFailed) return false;
    store<u32>(rec + R_BYTES, bytes | (modrm << (shown << 3)) | ((shown + 1) << 24));
    const mod = props & R ? 3 : modrm >> 6;
    reg = (modrm >> 3) & 7;
    rm = modrm & 7;
    if (mod != 3) {
      attr |= Attr.Mem;
      let defSeg: u32 = 3; // DS
      if (attr & Attr.A32) {
        if (rm == 4) {
          const sib = byteAt(i++);
          scale = sib >> 6;
          const idx = (sib >> 3) & 7;
          if (idx != 4) index = idx;
          const sb = sib & 7;
          if (sb == 5 && mod == 0) { disp = read32At(i); i += 4; }
          else { base = sb; if (sb == 4 || sb == 5) defSeg = 2; }
        } else if (rm == 5 && mod == 0) {
          disp = read32At(i); i += 4;
        } else {
          base = rm;
          if (rm == 5) defSeg = 2;
        }
        if (mod == 1) { disp = <u32><i32><i8>byteAt(i); i++; }
        else if (mod == 2) { disp = read32At(i); i += 4; }
      } else {
        // 16-bit forms: BX+SI BX+DI BP+SI BP+DI SI DI BP BX
        if (rm == 6 && mod == 0) { disp = read16At(i); i += 2; }
        else {
          switch (rm) {
            case 0: base = 3; index = 6; break;
            case 1: base = 3; index = 7; break;
            case 2: base = 5; index = 6; defSeg = 2; break;
            case 3: base = 5; index = 7; defSeg = 2; break;
            case 4: base = 6; break;
            case 5: base = 7; break;
            case 6: base = 5; defSeg = 2; break;
            default: base = 3; break;
          }
        }
        if (mod == 1) { disp = <u32><i32><i8>byteAt(i); i++; }
        else if (mod == 2) { disp = read16At(i); i += 2; }
      }
      if (seg == 0xFF) seg = defSeg;
    }
  }
  if (seg == 0xFF) seg = 3;
  // immediates
  let imm: u32 = 0, imm2: u32 = 0;
  const o32 = (attr & Attr.O32) != 0;
  if (props & G3) {
    if (reg < 2) {
      if (op == 0xF6) { imm = byteAt(i); i++; }
      else if (o32) { imm = read32At(i); i += 4; } else { imm = read16At(i); i += 2; }
    }
  } else if (props & F) {
    if (o32) { imm = read32At(i); i += 4; } else { imm = read16At(i); i += 2; }
    imm2 = read16At(i); i += 2;
  } else {
    if (props & W) { imm = read16At(i); i += 2; }
    if (props & V) {
      if (o32) { imm = read32At(i); i += 4; } else { imm = read16At(i); i += 2; }
    }
    if (props & B) {
      const v = byteAt(i); i++;
      if (props & W) imm2 = v; else imm = v;
    }
    if (props & A) {
      if (attr & Attr.A32) { disp = read32At(i); i += 4; } else { disp = read16At(i); i += 2; }
    }
  }
  if (fetchFailed) return false;
  store<u8>(rec + R_REG, reg);
  store<u8>(rec + R_RM, rm);
  store<u8>(rec + R_SEG, seg);
  store<u8>(rec + R_BASE, base);
  store<u8>(rec + R_INDEX, index);
  store<u8>(rec + R_SCALE, scale);
  store<u8>(rec + R_MODRM, modrm);
  store<u8>(rec + R_PREFIX, prefixes);
  store<u32>(rec + R_DISP, disp);
  store<u32>(rec + R_IMM, imm);
  store<u32>(rec + R_IMM2, imm2);
  if (i > 15) return finish(rec, Op.TooLong, 15, attr, prefixes);
  if (props & X || (props & M && invalidForm(op, modrm >> 6, reg))) op = Op.Invalid;
  else if ((attr & Attr.Lock) && (!(attr & Attr.Mem) || !lockable(op, reg))) op = Op.Invalid;
  return finish(rec, op, i, attr, prefixes);
}

function finish(rec: u32, op: u32, len: u32, attr: u32, prefixes: u32): bool {
  store<u16>(rec + R_OP, op);
  store<u8>(rec + R_LEN, len);
  store<u8>(rec + R_ATTR, attr);
  store<u8>(rec + R_PREFIX, prefixes);
  return true;
}

@inline function read16At(i: u32): u32 { return byteAt(i) | (byteAt(i + 1) << 8); }
@inline function read32At(i: u32): u32 {
  return byteAt(i) | (byteAt(i + 1) << 8) | (byteAt(i + 2) << 16) | (byteAt(i + 3) << 24);
}

// Sanity for the layout: a record is exactly RECORD_SIZE bytes.
export const RECORD_BYTES: u32 = RECORD_SIZE;
