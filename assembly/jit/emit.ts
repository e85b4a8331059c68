// WebAssembly bytecode writer: appends bytes at `pos` in the core's memory
// (the JIT's code buffer). Only what the region compiler needs.

export let pos: u32 = 0;
export let limit: u32 = 0;
// Set when a region ran past the buffer; the compiler then drops the region.
export let overflow: bool = false;

export function startAt(p: u32, end: u32): void { pos = p; limit = end; overflow = false; }
export function setPos(p: u32): void { pos = p; }

export function byte(b: u32): void {
  if (pos >= limit) { overflow = true; return; }
  store<u8>(pos, b);
  pos++;
}

export function uleb(v: u32): void {
  do {
    let b = v & 0x7F;
    v >>>= 7;
    if (v != 0) b |= 0x80;
    byte(b);
  } while (v != 0);
}

export function sleb(v: i32): void {
  while (true) {
    const b = v & 0x7F;
    v >>= 7;
    if ((v == 0 && (b & 0x40) == 0) || (v == -1 && (b & 0x40) != 0)) { byte(b); return; }
    byte(b | 0x80);
  }
}

// A u32 in 5 bytes (padded LEB128), to patch later with the real size.
export function reserve5(): u32 { const at = pos; for (let i = 0; i < 5; i++) byte(0); return at; }
export function patch5(at: u32, v: u32): void {
  for (let i: u32 = 0; i < 4; i++) { store<u8>(at + i, (v & 0x7F) | 0x80); v >>>= 7; }
  store<u8>(at + 4, v & 0x7F);
}
// An i32 in 5 bytes (padded signed LEB128): an i32.const's operand patched later.
export function patchS5(at: u32, v: i32): void {
  for (let i: u32 = 0; i < 4; i++) { store<u8>(at + i, (v & 0x7F) | 0x80); v >>= 7; }
  store<u8>(at + 4, v & 0x7F);
}

export function name(s: string): void {
  uleb(s.length);
  for (let i = 0; i < s.length; i++) byte(s.charCodeAt(i));
}

// ---- opcodes ----
export const enum W {
  Unreachable = 0x00, Block = 0x02, Loop = 0x03, If = 0x04, Else = 0x05, End = 0x0B,
  Br = 0x0C, BrIf = 0x0D, Return = 0x0F, Call = 0x10, ReturnCall = 0x12, Drop = 0x1A, Select = 0x1B,
  LocalGet = 0x20, LocalSet = 0x21, LocalTee = 0x22,
  Load = 0x28, Load8S = 0x2C, Load8U = 0x2D, Load16S = 0x2E, Load16U = 0x2F,
  Store = 0x36, Store8 = 0x3A, Store16 = 0x3B,
  Const = 0x41,
  Eqz = 0x45, Eq = 0x46, Ne = 0x47, LtS = 0x48, LtU = 0x49, GtS = 0x4A, GtU = 0x4B,
  LeS = 0x4C, LeU = 0x4D, GeS = 0x4E, GeU = 0x4F,
  Add = 0x6A, Sub = 0x6B, Mul = 0x6C, And = 0x71, Or = 0x72, Xor = 0x73,
  Shl = 0x74, ShrS = 0x75, ShrU = 0x76, Rotl = 0x77, Rotr = 0x78,
  Extend8S = 0xC0, Extend16S = 0xC1,
  I64Ne = 0x52, I64Mul = 0x7E, I64DivS = 0x7F, I64DivU = 0x80, I64RemS = 0x81, I64RemU = 0x82,
  I64Or = 0x84, I64Shl = 0x86, I64ShrU = 0x88, Wrap = 0xA7, I64ExtendS = 0xAC, I64ExtendU = 0xAD,
}
export const VOID: u32 = 0x40;
export const I32: u32 = 0x7F;
export const I64: u32 = 0x7E;

@inline export function op(o: u32): void { byte(o); }
export function get(l: u32): void { byte(W.LocalGet); uleb(l); }
export function set(l: u32): void { byte(W.LocalSet); uleb(l); }
export function tee(l: u32): void { byte(W.LocalTee); uleb(l); }
export function i32c(v: u32): void { byte(W.Const); sleb(<i32>v); }
export function i64c(v: i32): void { byte(0x42); sleb(v); } // i64.const of a value that fits in 32 bits
export function call(f: u32): void { byte(W.Call); uleb(f); }
// Memory access with a constant offset (alignment hint 0: guest data is unaligned).
export function mem(o: u32, offset: u32): void { byte(o); byte(0); uleb(offset); }
