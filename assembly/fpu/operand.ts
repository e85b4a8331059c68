// Memory operands of x87 instructions: up to 108 bytes (FNSAVE), so a store
// checks both pages of an operand that crosses one before writing anything.
import { effectiveOffset, segOf } from "../cpu/operand";
import { segLinear, read16, read32, write8, write16, write32, translate, tlbAccess } from "../cpu/memory";
import { aborted } from "../cpu/fault";
import { TlbBit } from "../layout";

export function operandLinear(rec: u32, bytes: u32, write: bool): u32 {
  const lin = segLinear(segOf(rec), effectiveOffset(rec), bytes, write);
  if (aborted() || !write || (lin & 0xFFF) + bytes <= 0x1000) return lin;
  const user = tlbAccess == TlbBit.User;
  translate(lin, true, user);
  if (!aborted()) translate(lin + bytes - 1, true, user);
  return lin;
}

export function read64(lin: u32): u64 {
  const lo = read32(lin);
  const hi = read32(lin + 4);
  return (<u64>hi << 32) | <u64>lo;
}
export function write64(lin: u32, v: u64): void {
  write32(lin, <u32>v);
  write32(lin + 4, <u32>(v >> 32));
}

// Bytes [0, n) of `buf` to memory at lin (already checked by operandLinear).
export function writeBytes(lin: u32, buf: u32, n: u32): void {
  let i: u32 = 0;
  for (; i + 4 <= n; i += 4) write32(lin + i, load<u32>(buf + i));
  if (i + 2 <= n) { write16(lin + i, load<u16>(buf + i)); i += 2; }
  if (i < n) write8(lin + i, load<u8>(buf + i));
}
export function readBytes(lin: u32, buf: u32, n: u32): void { // n is even
  let i: u32 = 0;
  for (; i + 4 <= n; i += 4) store<u32>(buf + i, read32(lin + i));
  if (i < n) store<u16>(buf + i, <u16>read16(lin + i));
}
