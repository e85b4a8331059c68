// Port I/O: IN/OUT/INS/OUTS leave to the host as Io exits. The privilege check
// (IOPL, then the TSS I/O permission bitmap) happens here, in the core.
//
// Inline ports: the host marks the ports whose device it can answer at once
// (no effect on interrupts or the run, and no one watching exits), and an
// IN or OUT to one calls the host's portIo from inside the run instead of
// leaving it: the same access, counted by the host as the same Io exit.
// Some devices' reads depend on time (a timer's count): those ports are inline
// for IN only, and portIo is told how many instructions the run has retired
// with the IN, as many as an exit there would have reported, so the device
// reads the same time either way. INS/OUTS always leave.
import {
  ACTIVE, S_CPL, S_EFLAGS, S_PENDING_IO, S_PENDING_DEST, S_PENDING_ATTR, PendingIo, EXIT_IO_DIR, EXIT_IO_SIZE, EXIT_IO_PORT,
  EXIT_IO_COUNT, EXIT_IO_DATA, IO_BUFFER, IO_BUFFER_SIZE, ExitReason, SEG_TR, SEG_ES,
} from "../layout";
import {
  protectedMode, v86Mode, segBase, segLimit, segAttr, reg32, setReg32, regSz, setRegSz, EAX, ECX, EDX, ESI, EDI,
  setEip, DF,
} from "./state";
import { readSys, segLinear, readSz, writeSz, translate, ramSize } from "./memory";
import { raise, GP, aborted, requestExit } from "./fault";
import { R_SEG, R_ATTR, Attr } from "./decode";
import { insnStart, retired } from "./context";
import { tlbAccess } from "./memory";
import { TlbBit } from "../layout";

// One bit per port (host-written through inlinePorts()): OUT and IN inline.
export const INLINE_PORTS: usize = memory.data(8192);
// One bit per port whose IN is inline (inlineReadPorts(): INLINE_PORTS and the
// ports of devices whose reads only read the time).
export const INLINE_READS: usize = memory.data(8192);
// One bit per inline port that no device owns (host-written through
// openPorts()): the open bus, answered here without calling the host (reads
// all ones, writes dropped), as CPUID is answered from the host's table. Each
// such access is counted in OPEN_BUS_COUNT, which the host adds to its Io exits
// and unclaimed accesses after every entry (and sets back to 0).
export const OPEN_PORTS: usize = memory.data(8192);
export const OPEN_BUS_COUNT: usize = memory.data(4, 4);

// dir 0: write `value`; dir 1: read (returns the value). `bytes` 1, 2 or 4;
// `done` (reads): the instructions this run has retired, this one included.
@external("env", "portIo")
declare function portIo(dir: u32, port: u32, bytes: u32, value: u32, done: u32): u32;

// The port's bit in one of the bitmaps above.
@inline function portBit(map: usize, port: u32): bool {
  return ((<u32>load<u8>(map + (port >> 3)) >> (port & 7)) & 1) != 0;
}

// An IN (dir 1: returns the value) or OUT (dir 0) to an inline port, from the
// interpreter or a compiled region (jitPort): the open bus here, any other
// port by the host's portIo. `done` as for portIo.
export function inlineIo(dir: u32, port: u32, bytes: u32, value: u32, done: u32): u32 {
  if (portBit(OPEN_PORTS, port)) {
    store<u32>(OPEN_BUS_COUNT, load<u32>(OPEN_BUS_COUNT) + 1);
    return dir == 0 ? 0 : (bytes == 4 ? 0xFFFFFFFF : (<u32>1 << (bytes << 3)) - 1);
  }
  return portIo(dir, port, bytes, value, done);
}

// May the guest touch `bytes` ports from `port` at its current privilege?
export function ioAllowed(port: u32, bytes: u32): bool {
  if (!protectedMode()) return true;
  // IOPL is never lazy: the stored EFLAGS has it (no need to fold the arithmetic flags in)
  const iopl = (load<u32>(ACTIVE + S_EFLAGS) >> 12) & 3;
  if (!v86Mode() && load<u32>(ACTIVE + S_CPL) <= iopl) return true;
  // consult the I/O permission bitmap of a 32-bit TSS
  if ((segAttr(SEG_TR) & 0x0F) != 0x0B && (segAttr(SEG_TR) & 0x0F) != 0x09) return false;
  const base = segBase(SEG_TR), limit = segLimit(SEG_TR);
  if (limit < 0x67) return false;
  const mapOff = readSys(base + 0x66, 2);
  if (aborted()) return false;
  const byteOff = mapOff + (port >> 3);
  if (byteOff + 1 > limit) return false;
  const bits = readSys(base + byteOff, 2);
  if (aborted()) return false;
  const mask = ((1 << bytes) - 1) << (port & 7);
  return (bits & mask) == 0;
}

function checkPorts(port: u32, bytes: u32): bool {
  if (ioAllowed(port, bytes)) return true;
  if (!aborted()) raise(GP, 0, true);
  return false;
}

function ioExit(dir: u32, bytes: u32, port: u32, count: u32): void {
  store<u32>(EXIT_IO_DIR, dir);
  store<u32>(EXIT_IO_SIZE, bytes);
  store<u32>(EXIT_IO_PORT, port & 0xFFFF);
  store<u32>(EXIT_IO_COUNT, count);
  requestExit(ExitReason.Io);
}

// OUT port, AL/AX/EAX
export function out(port: u32, sz: u32): void {
  const bytes: u32 = 1 << sz;
  if (!checkPorts(port, bytes)) return;
  if (portBit(INLINE_PORTS, port)) { inlineIo(0, port, bytes, regSz(EAX, sz), 0); return; }
  store<u32>(EXIT_IO_DATA, regSz(EAX, sz));
  ioExit(0, bytes, port, 1);
}

// IN AL/AX/EAX, port: the value arrives when the host re-enters. (A Sync
// handler: `retired` counts the instructions before this one.)
export function inp(port: u32, sz: u32): void {
  const bytes: u32 = 1 << sz;
  if (!checkPorts(port, bytes)) return;
  if (portBit(INLINE_READS, port)) { setRegSz(EAX, sz, inlineIo(1, port, bytes, 0, retired + 1)); return; }
  store<u32>(EXIT_IO_DATA, 0);
  store<u32>(ACTIVE + S_PENDING_IO, PendingIo.In);
  ioExit(1, bytes, port, 1);
}

// F2 (REPNE) repeats INS and OUTS just as F3 does
const REP: u32 = Attr.Rep | Attr.Repne;

// Items a string I/O instruction moves in this exit: all of (E)CX under REP,
// at most a buffer's worth, never past the end of the memory page, and never
// past a 16-bit offset's wrap (the buffer is stored to consecutive addresses).
function stringCount(rec: u32, lin: u32, off: u32, bytes: u32): u32 {
  const attr = load<u8>(rec + R_ATTR);
  if (!(attr & REP)) return 1;
  let n = (attr & Attr.A32) ? reg32(ECX) : reg32(ECX) & 0xFFFF;
  const down = (load<u32>(ACTIVE + S_EFLAGS) & DF) != 0;
  const room = down ? ((lin & 0xFFF) / bytes) + 1 : (0x1000 - (lin & 0xFFF)) / bytes;
  if (room > 0 && n > room) n = room;
  if (!(attr & Attr.A32)) {
    const room16 = down ? off / bytes + 1 : (0x10000 - off) / bytes;
    if (room16 > 0 && n > room16) n = room16;
  }
  if (n > IO_BUFFER_SIZE / bytes) n = IO_BUFFER_SIZE / bytes;
  return n;
}

// Move SI/DI and CX after `n` items; returns the items REP still has to do.
function advance(attr: u32, r: u32, n: u32, bytes: u32): u32 {
  const step = (load<u32>(ACTIVE + S_EFLAGS) & DF) ? <u32>(-<i32>(n * bytes)) : n * bytes;
  if (attr & Attr.A32) setReg32(r, reg32(r) + step);
  else setRegSz(r, 1, reg32(r) + step);
  if (attr & REP) {
    const cx = ((attr & Attr.A32) ? reg32(ECX) : reg32(ECX) & 0xFFFF) - n;
    if (attr & Attr.A32) setReg32(ECX, cx); else setRegSz(ECX, 1, cx);
    return cx;
  }
  return 0;
}

@inline function index(rec: u32, r: u32): u32 {
  return (load<u8>(rec + R_ATTR) & Attr.A32) ? reg32(r) : reg32(r) & 0xFFFF;
}

export function outs(rec: u32, sz: u32): void {
  const bytes: u32 = 1 << sz;
  const port = reg32(EDX) & 0xFFFF;
  const attr = load<u8>(rec + R_ATTR);
  if ((attr & REP) && index(rec, ECX) == 0) return;
  if (!checkPorts(port, bytes)) return;
  const seg = load<u8>(rec + R_SEG);
  const first = segLinear(seg, index(rec, ESI), bytes, false);
  if (aborted()) return;
  // from device memory, one item per exit: each read leaves to the host
  const src = translate(first, false, tlbAccess == TlbBit.User);
  if (aborted()) return;
  const n: u32 = src >= ramSize ? 1 : stringCount(rec, first, index(rec, ESI), bytes);
  const down = (load<u32>(ACTIVE + S_EFLAGS) & DF) != 0;
  let off = index(rec, ESI);
  for (let i: u32 = 0; i < n; i++) {
    const lin = segLinear(seg, off, bytes, false);
    const v = readSz(lin, sz);
    if (aborted()) return;
    if (bytes == 4) store<u32>(IO_BUFFER + i * 4, v);
    else if (bytes == 2) store<u16>(IO_BUFFER + i * 2, v);
    else store<u8>(IO_BUFFER + i, v);
    off = down ? off - bytes : off + bytes;
    if (!(attr & Attr.A32)) off &= 0xFFFF;
  }
  store<u32>(EXIT_IO_DATA, n ? load<u32>(IO_BUFFER) : 0);
  if (advance(attr, ESI, n, bytes) != 0) setEip(insnStart); // REP goes on after the exit
  ioExit(0, bytes, port, n);
}

export function ins(rec: u32, sz: u32): void {
  const bytes: u32 = 1 << sz;
  const port = reg32(EDX) & 0xFFFF;
  const attr = load<u8>(rec + R_ATTR);
  if ((attr & REP) && index(rec, ECX) == 0) return;
  if (!checkPorts(port, bytes)) return;
  const first = segLinear(SEG_ES, index(rec, EDI), bytes, true);
  if (aborted()) return;
  // the destination must be writable now, so completing on re-entry cannot fault
  const dest = translate(first, true, tlbAccess == TlbBit.User);
  if (aborted()) return;
  // into device memory, one item per exit: each store leaves to the host as an MMIO write
  const n: u32 = dest >= ramSize ? 1 : stringCount(rec, first, index(rec, EDI), bytes);
  const down = (load<u32>(ACTIVE + S_EFLAGS) & DF) != 0;
  const lastOff = down ? index(rec, EDI) - (n - 1) * bytes : index(rec, EDI) + (n - 1) * bytes;
  segLinear(SEG_ES, (attr & Attr.A32) ? lastOff : lastOff & 0xFFFF, bytes, true);
  if (aborted()) return;
  store<u32>(ACTIVE + S_PENDING_IO, PendingIo.Ins);
  store<u32>(ACTIVE + S_PENDING_DEST, first);
  ioExit(1, bytes, port, n);
  // registers move on re-entry, when the data is stored (completeIns)
  store<u32>(EXIT_IO_DATA, 0);
  store<u32>(ACTIVE + S_PENDING_ATTR, attr);
  if ((attr & REP) && index(rec, ECX) != n) setEip(insnStart);
}

// Called by enter() before running: finish an IN/INS with the host's data.
export function completePendingIo(): void {
  const kind = load<u32>(ACTIVE + S_PENDING_IO);
  if (kind == PendingIo.None) return;
  store<u32>(ACTIVE + S_PENDING_IO, PendingIo.None);
  const bytes = load<u32>(EXIT_IO_SIZE);
  const sz: u32 = bytes == 4 ? 2 : (bytes == 2 ? 1 : 0);
  if (kind == PendingIo.In) {
    setRegSz(EAX, sz, load<u32>(EXIT_IO_DATA));
    return;
  }
  const n = load<u32>(EXIT_IO_COUNT);
  const down = (load<u32>(ACTIVE + S_EFLAGS) & DF) != 0;
  let lin = load<u32>(ACTIVE + S_PENDING_DEST);
  for (let i: u32 = 0; i < n; i++) {
    const v: u32 = bytes == 4 ? load<u32>(IO_BUFFER + i * 4) : (bytes == 2 ? <u32>load<u16>(IO_BUFFER + i * 2) : <u32>load<u8>(IO_BUFFER + i));
    writeSz(lin, sz, v);
    lin = down ? lin - bytes : lin + bytes;
  }
  advance(load<u32>(ACTIVE + S_PENDING_ATTR), EDI, n, bytes);
}
