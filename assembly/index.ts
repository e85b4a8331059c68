// The core's exports: what the host calls. One instance per VM; its memory
// (imported from the host) holds the tables in layout.ts and the guest's RAM.
import {
  ACTIVE, VCPU_SLOTS, VCPU_STATE_SIZE, MAX_VCPUS, RAM_BASE, EXIT, S_EFLAGS, S_CF_OP, S_CR0, S_A20_MASK,
  S_IRQ, S_IDTR_LIMIT, S_SEG, SEG_SIZE, SEG_SELECTOR, SEG_BASE, SEG_LIMIT, SEG_ATTR, S_EIP, S_CPL,
  SEG_CS, S_APIC_BASE, S_COUNTERS, Counter, S_GDTR_LIMIT, S_MISC_ENABLE, S_PAT,
  EXIT_IO_DATA, IO_BUFFER, EXIT_MMIO_DATA, S_MMIO_REPLAY, EXIT_INSN_EIP, S_MSR_GRANT, S_PENDING_IO, PendingIo,
} from "./layout";
import { setSegCache, setEip, setReg32, EDX } from "./cpu/state";
import { getFlags, setFlagsRaw } from "./cpu/flags";
import { run } from "./cpu/run";
import { INLINE_PORTS, INLINE_READS, OPEN_PORTS, OPEN_BUS_COUNT } from "./cpu/io";
import { ssePowerOn } from "./cpu/sse-state";
import { setRamSize, setRomWindow, tlbFlushAll, updateAccessMode, invalidatePhysRange, ramSize } from "./cpu/memory";
import { exception } from "./cpu/interrupt";
import { clearAbort, clearExit } from "./cpu/fault";
import { fpuPowerOn } from "./fpu/dispatch";
import { setMmuTracing } from "./mmu/trace";
import { selectCpuidTable, MISC_ENABLE_RESET, PAT_RESET } from "./cpu/system";

// The JIT: what a compiled region calls back, and its controls (jit/tier.ts).
export { jitStep, jitCond, jitCarry, jitShift, jitCpuid, jitRdtsc, jitFill, jitPort, jitStat } from "./jit/tier";
import { setJit } from "./jit/tier";
// 1: compile blocks that ran `threshold` times in the interpreter; 0: interpreter only.
// demote 1: a region whose runs mostly stop early goes back to the interpreter.
export function jit(on: u32, threshold: u32, demote: u32): void { setJit(on != 0, threshold, demote != 0); }

let vcpus: u32 = 1;
let active: u32 = 0;

export function ramBase(): u32 { return RAM_BASE; }
export function maxVcpus(): u32 { return MAX_VCPUS; }

// Prepare the machine: RAM size in bytes (the host sized the memory for it).
export function init(ramBytes: u32, vcpuCount: u32): void {
  setRamSize(ramBytes);
  vcpus = vcpuCount;
  active = 0;
  for (let v: u32 = 0; v < vcpuCount; v++) {
    activate(v);
    reset();
  }
  activate(0);
}

@inline function slot(v: u32): u32 { return VCPU_SLOTS + v * VCPU_STATE_SIZE; }

// Where vCPU v's state block is right now.
export function stateOffset(v: u32): u32 { return v == active ? ACTIVE : slot(v); }

// Make vCPU v the one in the ACTIVE block.
function activate(v: u32): void {
  if (v == active) return;
  memory.copy(slot(active), ACTIVE, VCPU_STATE_SIZE);
  memory.copy(ACTIVE, slot(v), VCPU_STATE_SIZE);
  active = v;
  selectCpuidTable(v);
  tlbFlushAll(); // the soft TLB belongs to the active vCPU
  updateAccessMode();
}

// The architectural reset state (as after RESET/INIT): real mode at F000:FFF0.
function reset(): void {
  memory.fill(ACTIVE, 0, VCPU_STATE_SIZE);
  setFlagsRaw(2);
  store<u32>(ACTIVE + S_CR0, 0x60000010);
  store<u32>(ACTIVE + S_A20_MASK, 0xFFFFFFFF);
  store<i32>(ACTIVE + S_IRQ, -1);
  store<u32>(ACTIVE + S_IDTR_LIMIT, 0x3FF);
  store<u32>(ACTIVE + S_GDTR_LIMIT, 0xFFFF);
  store<u32>(ACTIVE + S_APIC_BASE, 0xFEE00900);
  store<u64>(ACTIVE + S_MISC_ENABLE, MISC_ENABLE_RESET);
  store<u64>(ACTIVE + S_PAT, PAT_RESET);
  for (let s: u32 = 0; s < 6; s++) setSegCache(s, 0, 0, 0xFFFF, 0x93);
  setSegCache(SEG_CS, 0xF000, 0xFFFF0000, 0xFFFF, 0x9B);
  setSegCache(6, 0, 0, 0xFFFF, 0x82);
  setSegCache(7, 0, 0, 0xFFFF, 0x8B);
  setEip(0xFFF0);
  setReg32(EDX, 0x0633); // family 6, model 3 (Pentium Pro class)
  fpuPowerOn();
  ssePowerOn();
  updateAccessMode();
}

export function resetVcpu(v: u32): void { activate(v); reset(); }

// Run vCPU v for at most `budget` instructions; returns the exit reason.
export function enter(v: u32, budget: u32): u32 {
  activate(v);
  updateAccessMode();
  run(budget);
  return load<u32>(EXIT);
}

// Load a segment cache (selector, base, limit, attributes) of vCPU v, as a
// loader does when it starts a guest in protected mode.
export function setSegment(v: u32, s: u32, selector: u32, base: u32, limit: u32, attr: u32): void {
  activate(v);
  setSegCache(s, selector, base, limit, attr);
  if (s == SEG_CS) store<u32>(ACTIVE + S_CPL, (load<u32>(ACTIVE + S_CR0) & 1) ? (attr >> 5) & 3 : 0);
  updateAccessMode();
}

// Recompute what the core derives from the state block, after the host wrote
// it wholesale (snapshot restore).
export function stateChanged(v: u32): void {
  activate(v);
  for (let s: u32 = 0; s < 8; s++) {
    const a = ACTIVE + S_SEG + s * SEG_SIZE;
    setSegCache(s, load<u32>(a + SEG_SELECTOR), load<u32>(a + SEG_BASE), load<u32>(a + SEG_LIMIT), load<u32>(a + SEG_ATTR));
  }
  tlbFlushAll();
  updateAccessMode();
}

// EFLAGS with the lazy arithmetic flags folded in. A read: a parked vCPU's
// flags are folded through the active record, whose words are then put back
// (no activation, no TLB flush).
export function getEflags(v: u32): u32 {
  if (v == active) return getFlags();
  const at = ACTIVE + S_EFLAGS, from = slot(v) + S_EFLAGS; // S_EFLAGS .. S_LAZY_R: 24 bytes
  const cf = ACTIVE + S_CF_OP, cfFrom = slot(v) + S_CF_OP; // S_CF_OP .. S_CF_R: 20 bytes
  const a = load<u64>(at), b = load<u64>(at + 8), c = load<u64>(at + 16);
  const d = load<u64>(cf), e = load<u64>(cf + 8), f = load<u32>(cf + 16);
  memory.copy(at, from, 24);
  memory.copy(cf, cfFrom, 20);
  const flags = getFlags();
  store<u64>(at, a); store<u64>(at + 8, b); store<u64>(at + 16, c);
  store<u64>(cf, d); store<u64>(cf + 8, e); store<u32>(cf + 16, f);
  return flags;
}
export function setEflags(v: u32, value: u32): void { activate(v); setFlagsRaw(value); }

// Deliver an exception to vCPU v now (the host's policy decided, e.g. #GP for
// a forbidden port). EIP must point at the instruction that caused it.
export function injectException(v: u32, vector: u32, hasCode: u32, code: u32): void {
  activate(v);
  clearAbort();
  clearExit();
  exception(vector, hasCode != 0, code);
}

// Where the inline-port bitmaps are (cpu/io.ts): 8 KiB, one bit per port, the
// host writes them: ports inline both ways, and ports whose IN is inline.
export function inlinePorts(): u32 { return <u32>INLINE_PORTS; }
export function inlineReadPorts(): u32 { return <u32>INLINE_READS; }
// Where the open-bus bitmap is (8 KiB, one bit per inline port no device owns),
// and the u32 count of the accesses the core answered for it (cpu/io.ts).
export function openPorts(): u32 { return <u32>OPEN_PORTS; }
export function openBusCount(): u32 { return <u32>OPEN_BUS_COUNT; }

// ---- the exit protocol: how the host answers vCPU v's exit ----
// The data of an IN (one item): the instruction completes on v's next entry.
// (An INS takes its items from IO_BUFFER, which the host fills.)
export function completeIo(v: u32, value: u32): void {
  store<u32>(EXIT_IO_DATA, value);
  store<u32>(IO_BUFFER, value);
}
// The value of an MMIO read: the instruction runs again on v's next entry and takes it.
export function completeMmioRead(v: u32, value: u32): void {
  store<u32>(EXIT_MMIO_DATA, value);
  store<u32>(stateOffset(v) + S_MMIO_REPLAY, 1);
}
// A filter allowed the RDMSR/WRMSR that asked: it runs again and is let through once.
export function grantMsr(v: u32): void {
  const base = stateOffset(v);
  store<u32>(base + S_EIP, load<u32>(EXIT_INSN_EIP));
  store<u32>(base + S_MSR_GRANT, 1);
}
// The instruction that exited faults instead (code < 0: no error code): an IN
// that will not complete, a forbidden access, an MSR the machine lacks.
// A fault the guest cannot deliver leaves a Shutdown exit in the record.
export function failInstruction(v: u32, vector: u32, code: i32): void {
  const base = stateOffset(v);
  store<u32>(base + S_PENDING_IO, PendingIo.None);
  store<u32>(base + S_EIP, load<u32>(EXIT_INSN_EIP));
  injectException(v, vector, code >= 0 ? 1 : 0, <u32>code);
}

// The host wrote guest RAM (loader, DMA): drop decoded code and TLB entries there.
export function invalidatePhys(phys: u32, len: u32): void { invalidatePhysRange(phys, len); }
export function flushTlb(): void { tlbFlushAll(); }
// Make guest-physical [start, start+size) a read-only alias of RAM at `backing`
// (firmware ROM at the top of 4 GiB); size 0 removes it.
export function romWindow(start: u32, size: u32, backing: u32): void { setRomWindow(start, size, backing); }
export function ramBytes(): u32 { return ramSize; }
export function counterOffset(c: u32): u32 { return S_COUNTERS + (c << 3); }
// MMU events (fills, #PF, invalidations, flushes) to the host's env.mmuEvent: mmu/trace.ts.
export function traceMmu(on: u32): void { setMmuTracing(on != 0); }
export function counterCount(): u32 { return Counter.Count; }
