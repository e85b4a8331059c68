// The decoder: guest bytes -> a fixed 32-byte record the executor runs from.
// Records are made once per instruction and kept in the block cache.
import { Enc, HFlag, PROPS, SEL_BASE, SEL, H_INVALID, H_TOO_LONG } from "./opcodes.generated";

// ---- record layout ----
export const R_H: u32 = 0;       // u16 handler id (opcodes.generated.ts): instruction, size and form (at 0: the run loop's load needs no offset)
export const R_LEN: u32 = 2;     // u8 instruction length in bytes
export const R_ATTR: u32 = 3;    // u8 Attr bits
export const R_REG: u32 = 4;     // u8 ModRM reg field (or the register in the opcode)
export const R_RM: u32 = 5;      // u8 ModRM rm field
export const R_SEG: u32 = 6;     // u8 segment of the memory operand
export const R_BASE: u32 = 7;    // u8 base register, NO_REG = none
export const R_INDEX: u32 = 8;   // u8 index register, NO_REG = none
export const R_SCALE: u32 = 9;   // u8 index shift
export const R_MODRM: u32 = 10;  // u8 the raw ModRM byte
export const R_SKIP: u32 = 10;   // i8 (a Rel jump has no ModRM) its target's record in its own block less its own (run.ts resolveTargets); 0: outside
export const R_PREFIX: u32 = 11; // u8 number of prefix bytes
export const R_DISP: u32 = 12;   // u32 displacement (also moffs; a Rel branch's, sign-extended)
export const R_IMM: u32 = 16;    // u32 immediate (sign-extended where the encoding says so)
export const R_IMM2: u32 = 20;   // u32 second immediate (far selector, ENTER level)
export const R_BYTES: u32 = 24;  // u32 opcode bytes (and ModRM), first in the low byte; count in bits 24-31
export const R_OP: u32 = 28;     // u16 the opcode, | 0x100 for the 0F map, or Op.*
export const R_HFLAGS: u32 = 30; // u8 HFlag bits of the form (Ends, Sync, ...)
export const R_OFF: u32 = 31;    // u8 offset of the instruction from its block's first (run.ts)
export const NO_REG: u32 = 8;

export const enum Attr {
  O32 = 1,    // 32-bit operand size
  A32 = 2,    // 32-bit address size
  Mem = 4,    // ModRM names memory (mod != 3)
  Rep = 8,    // F3
  Repne = 16, // F2
  Lock = 32,
  SegOverride = 64,
  Opsize = 128, // a 66 prefix was present (SSE: it selects the packed-double/integer form)
}

// Handler ids past the two opcode maps.
export const enum Op {
  Invalid = 0x200,       // #UD: the architecture defines no such instruction
  Unimplemented = 0x201, // #UD: defined, but this core does not implement it (yet)
  TooLong = 0x202,       // more than 15 bytes: #GP(0)
}

// The encoding of each opcode (PROPS) and the handler for each form (SEL) come
// from the opcode table, assembly/cpu/opcodes.mjs, through scripts/gen-opcodes.mjs.
const M: u32 = Enc.M, B: u32 = Enc.B, V: u32 = Enc.V, W: u32 = Enc.W, A: u32 = Enc.A;
const F: u32 = Enc.F, X: u32 = Enc.X, G3: u32 = Enc.T, R: u32 = Enc.R;

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
    else if (b == 0x66) attr = (attr & ~Attr.O32) | (big ? 0 : Attr.O32) | Attr.Opsize;
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
  }
  props = unchecked(PROPS[op]);
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
  // the handler for this form; an undefined form or a LOCK it does not allow is #UD
  let sel: u32 = H_INVALID | ((HFlag.Invalid | HFlag.Ends) << 16);
  if (!(props & X)) {
    let at = <u32>unchecked(SEL_BASE[op]) + ((attr & Attr.Mem) >> 1) + (attr & Attr.O32);
    if (props & Enc.G) at += reg << 2;
    if (props & Enc.P) at += mandatoryPrefix(attr) << (props & Enc.G ? 5 : 2);
    sel = unchecked(SEL[at]);
    if ((attr & Attr.Lock) && (!(attr & Attr.Mem) || !(sel & (HFlag.Lock << 16)))) sel = H_INVALID | ((HFlag.Invalid | HFlag.Ends) << 16);
  }
  if (sel & (HFlag.Invalid << 16)) op = Op.Invalid;
  // a relative branch: its displacement, whatever its width, for the block builder
  if (sel & (HFlag.Rel << 16)) store<u32>(rec + R_DISP, props & B ? <u32><i32><i8>imm : imm);
  return finish(rec, op, i, attr, prefixes, sel);
}

// The mandatory prefix of an SSE opcode, as SEL orders it: 0 none, 1 66, 2 F3, 3 F2
// (the last of F2/F3 counts, and either wins over 66).
@inline function mandatoryPrefix(attr: u32): u32 {
  if (attr & Attr.Rep) return 2;
  if (attr & Attr.Repne) return 3;
  return attr & Attr.Opsize ? 1 : 0;
}

function finish(rec: u32, op: u32, len: u32, attr: u32, prefixes: u32, sel: u32 = H_TOO_LONG | (HFlag.Ends << 16)): bool {
  store<u16>(rec + R_H, sel);
  store<u8>(rec + R_HFLAGS, sel >> 16);
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
