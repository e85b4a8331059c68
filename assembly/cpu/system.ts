// System instructions: descriptor-table registers, LDTR/TR, control and debug
// registers, MSRs, CPUID and time-stamp counter, segment inspection (LAR/LSL/VERR/VERW).
import {
  ACTIVE, S_CPL, S_GDTR_BASE, S_GDTR_LIMIT, S_IDTR_BASE, S_IDTR_LIMIT, S_CR0, S_CR2, S_CR3, S_CR4, S_DR,
  S_INSTRET, S_TSC, S_SYSENTER_CS, S_SYSENTER_ESP, S_SYSENTER_EIP, S_APIC_BASE, SEG_LDTR, SEG_TR,
  EXIT_CPUID_LEAF, EXIT_CPUID_SUBLEAF, EXIT_MSR_INDEX, EXIT_MSR_DIR, EXIT_MSR_LO, EXIT_MSR_HI, ExitReason,
  S_MSR_FILTER, S_MSR_GRANT, MSR_ASK, CPUID_CONTROL, CPUID_TABLE, CPUID_TABLE_SIZE, CPUID_COUNT, CPUID_ENTRIES,
  CPUID_ENTRY_SIZE, CPUID_MAX_ENTRIES, CPUID_E_LEAF, CPUID_E_INDEX, CPUID_E_FLAGS, CPUID_E_EAX, CPUID_E_EBX,
  CPUID_E_ECX, CPUID_E_EDX, CpuidFlag, S_MISC_ENABLE, S_PAT, S_SEG, SEG_SIZE, SEG_ATTR,
} from "../layout";
import {
  protectedMode, v86Mode, reg32, setReg32, segSelector, setSegCache, EAX, ECX, EDX, EBX,
  CR0_PE, CR0_PG, CR0_TS, CR0_ET, ZF,
} from "./state";
import { getFlags, setFlagsRaw } from "./flags";
import { raise, raiseUD, GP, NP, aborted, endBlock, requestExit } from "./fault";
import { readE, writeE, effectiveLinear, isMem, o32, regField, rmField, writeG } from "./operand";
import { read16, read32, write16, write32, updateAccessMode } from "./memory";
import {
  fetchDescriptor, descLo, descHi, descAttr, attrDpl, attrPresent, attrIsSegment, attrConforming, attrIsCode,
  loadCacheFromDescriptor, descAddr, descLimit,
} from "./descriptor";
import { writeSys } from "./memory";
import { sseCr4Bits } from "./sse-state";
import { retired } from "./context";
import { writeCr3, pagingModeChanged, invalidatePage } from "../mmu/shadow";
import { pdptesForModeChange } from "../mmu/pae";

@inline function cpl(): u32 { return load<u32>(ACTIVE + S_CPL); }

// Privileged instructions need CPL 0 (real mode counts as 0; V86 is CPL 3).
export function requirePrivilege(): bool {
  if (cpl() != 0) { raise(GP, 0, true); return false; }
  return true;
}
// Instructions that do not exist outside protected mode.
function requireProtected(): bool {
  if (!protectedMode() || v86Mode()) { raiseUD(); return false; }
  return true;
}

// ---- 0F 00: SLDT STR LLDT LTR VERR VERW ----
export function group6(rec: u32): void {
  const op = regField(rec);
  if (!requireProtected()) return;
  switch (op) {
    case 0: case 1: { // SLDT / STR
      const sel = segSelector(op == 0 ? SEG_LDTR : SEG_TR);
      if (isMem(rec)) writeE(rec, 1, sel); else writeE(rec, o32(rec) ? 2 : 1, sel);
      return;
    }
    case 2: case 3: { // LLDT / LTR
      if (!requirePrivilege()) return;
      const sel = readE(rec, 1);
      if (aborted()) return;
      loadSystemSegment(op == 2, sel);
      return;
    }
    case 4: case 5: { // VERR / VERW
      const sel = readE(rec, 1);
      if (aborted()) return;
      setZF(verify(sel, op == 5));
      return;
    }
    default: raiseUD();
  }
}

function loadSystemSegment(ldt: bool, sel: u32): void {
  const s = ldt ? SEG_LDTR : SEG_TR;
  if ((sel & 0xFFFC) == 0) {
    if (ldt) { setSegCache(s, sel, 0, 0, 0); return; }
    raise(GP, 0, true); return;
  }
  if (sel & 4) { raise(GP, sel & 0xFFFC, true); return; } // must live in the GDT
  if (!fetchDescriptor(sel)) { if (!aborted()) raise(GP, sel & 0xFFFC, true); return; }
  const attr = descAttr(descHi);
  const type = attr & 0x1F;
  if (ldt ? type != 0x02 : (type != 0x01 && type != 0x09)) { raise(GP, sel & 0xFFFC, true); return; }
  if (!attrPresent(attr)) { raise(NP, sel & 0xFFFC, true); return; }
  if (!ldt) { // mark the TSS busy
    writeSys(descAddr + 4, 4, descHi | 0x200);
    if (aborted()) return;
    loadCacheFromDescriptor(s, sel);
    store<u32>(ACTIVE + S_SEG + s * SEG_SIZE + SEG_ATTR, attr | 2);
    return;
  }
  loadCacheFromDescriptor(s, sel);
}

function setZF(on: bool): void {
  const f = getFlags();
  setFlagsRaw(on ? f | ZF : f & ~ZF);
}

// VERR/VERW: is the segment readable/writable at the current privilege?
function verify(sel: u32, write: bool): bool {
  if ((sel & 0xFFFC) == 0 || !fetchDescriptor(sel)) return false;
  const attr = descAttr(descHi);
  if (!attrIsSegment(attr)) return false;
  if (!attrConforming(attr) && (attrDpl(attr) < cpl() || attrDpl(attr) < (sel & 3))) return false;
  if (write) return !attrIsCode(attr) && (attr & 2) != 0;
  return !attrIsCode(attr) || (attr & 2) != 0;
}

// LAR (rights) / LSL (limit): ZF = 1 and the destination written when visible.
export function larLsl(rec: u32, limit: bool): void {
  if (!requireProtected()) return;
  const sel = readE(rec, 1);
  if (aborted()) return;
  let ok = (sel & 0xFFFC) != 0 && fetchDescriptor(sel);
  if (aborted()) return;
  if (ok) {
    const attr = descAttr(descHi);
    if (attrIsSegment(attr)) {
      if (!attrConforming(attr) && (attrDpl(attr) < cpl() || attrDpl(attr) < (sel & 3))) ok = false;
    } else {
      const t = attr & 0xF;
      const valid = limit ? (t == 1 || t == 2 || t == 3 || t == 9 || t == 0xB)
                          : (t == 1 || t == 2 || t == 3 || t == 4 || t == 5 || t == 9 || t == 0xB || t == 0xC);
      if (!valid || attrDpl(attr) < cpl() || attrDpl(attr) < (sel & 3)) ok = false;
    }
  }
  setZF(ok);
  if (!ok) return;
  const v = limit ? descLimit(descLo, descHi) : descHi & 0x00F0FF00;
  writeG(rec, o32(rec) ? 2 : 1, v);
}

// ---- 0F 01: SGDT SIDT LGDT LIDT SMSW LMSW INVLPG ----
export function group7(rec: u32): void {
  const op = regField(rec);
  switch (op) {
    case 0: case 1: { // SGDT / SIDT
      if (!isMem(rec)) { raiseUD(); return; }
      const lin = effectiveLinear(rec, 6, true);
      if (aborted()) return;
      const base = load<u32>(ACTIVE + (op == 0 ? S_GDTR_BASE : S_IDTR_BASE));
      const lim = load<u32>(ACTIVE + (op == 0 ? S_GDTR_LIMIT : S_IDTR_LIMIT));
      write16(lin, lim);
      write32(lin + 2, base);
      return;
    }
    case 2: case 3: { // LGDT / LIDT
      if (!isMem(rec)) { raiseUD(); return; }
      if (!requirePrivilege()) return;
      const lin = effectiveLinear(rec, 6, false);
      if (aborted()) return;
      const lim = read16(lin);
      let base = read32(lin + 2);
      if (aborted()) return;
      if (!o32(rec)) base &= 0xFFFFFF;
      store<u32>(ACTIVE + (op == 2 ? S_GDTR_BASE : S_IDTR_BASE), base);
      store<u32>(ACTIVE + (op == 2 ? S_GDTR_LIMIT : S_IDTR_LIMIT), lim);
      return;
    }
    case 4: { // SMSW
      const cr0 = load<u32>(ACTIVE + S_CR0);
      if (isMem(rec)) writeE(rec, 1, cr0); else writeE(rec, o32(rec) ? 2 : 1, cr0);
      return;
    }
    case 6: { // LMSW: PE MP EM TS; cannot clear PE
      if (!requirePrivilege()) return;
      const v = readE(rec, 1);
      if (aborted()) return;
      const cr0 = load<u32>(ACTIVE + S_CR0);
      writeCr0((cr0 & ~0xE) | (v & 0xF) | (cr0 & CR0_PE));
      return;
    }
    case 7: { // INVLPG
      if (!isMem(rec)) { raiseUD(); return; }
      if (!requirePrivilege()) return;
      const lin = effectiveLinear(rec, 1, false);
      // INVLPG does not check the segment's rights beyond forming the address
      if (aborted()) return;
      invalidatePage(lin);
      return;
    }
    default: raiseUD();
  }
}

export function writeCr0(v: u32): void {
  v |= CR0_ET;
  if ((v & CR0_PG) && !(v & CR0_PE)) { raise(GP, 0, true); return; }
  if ((v & 0x20000000) && !(v & 0x40000000)) { raise(GP, 0, true); return; } // NW without CD
  const old = load<u32>(ACTIVE + S_CR0);
  const cr4 = load<u32>(ACTIVE + S_CR4);
  if (!pdptesForModeChange(v, cr4, old, cr4)) return;
  store<u32>(ACTIVE + S_CR0, v);
  if ((old ^ v) & (CR0_PG | CR0_PE | 0x10000)) pagingModeChanged(); // 0x10000: WP
  updateAccessMode();
  endBlock();
}

// MOV to/from CRn and DRn (0F 20-23). The ModRM always names a register.
export function movControl(rec: u32, toCr: bool, isDebug: bool): void {
  if (!requirePrivilege()) return;
  const n = regField(rec);
  const r = rmField(rec);
  if (isDebug) {
    const i = (n == 4 || n == 5) ? n + 2 : n;
    if (toCr) store<u32>(ACTIVE + S_DR + (i << 2), reg32(r));
    else setReg32(r, load<u32>(ACTIVE + S_DR + (i << 2)));
    return;
  }
  if (n == 1 || n > 4) { raiseUD(); return; }
  const slot: u32 = n == 0 ? S_CR0 : (n == 2 ? S_CR2 : (n == 3 ? S_CR3 : S_CR4));
  if (!toCr) { setReg32(r, load<u32>(ACTIVE + slot)); return; }
  const v = reg32(r);
  switch (n) {
    case 0: writeCr0(v); return;
    case 2: store<u32>(ACTIVE + S_CR2, v); return;
    case 3:
      if (!writeCr3(v)) return;
      endBlock();
      return;
    default: {
      // CR4: TSD DE PSE PAE MCE PGE PCE are the bits this CPU knows. VME and
      // PVI are reserved: CPUID does not advertise VME, so V86 mode has no extensions.
      // OSFXSR and OSXMMEXCPT exist when CPUID says FXSR and SSE (the CPU model's).
      if (v & ~(0x1FC | sseCr4Bits(cpuidFeatures()))) { raise(GP, 0, true); return; }
      const old = load<u32>(ACTIVE + S_CR4);
      const cr0 = load<u32>(ACTIVE + S_CR0);
      if (!pdptesForModeChange(cr0, v, cr0, old)) return;
      store<u32>(ACTIVE + S_CR4, v);
      if ((old ^ v) & 0xB0) pagingModeChanged(); // PSE, PAE, PGE
      endBlock();
    }
  }
}

export function clts(): void {
  if (!requirePrivilege()) return;
  store<u32>(ACTIVE + S_CR0, load<u32>(ACTIVE + S_CR0) & ~CR0_TS);
}

// ---- time stamp, CPUID, MSRs ----
export function tsc(): u64 { return load<u64>(ACTIVE + S_INSTRET) + load<u64>(ACTIVE + S_TSC); }

export function rdtsc(): void {
  const retiredNow = retired;
  if ((load<u32>(ACTIVE + S_CR4) & 4) && cpl() != 0) { raise(GP, 0, true); return; }
  readTsc(retiredNow);
}
// EDX:EAX = the time stamp counter after `retiredNow` instructions of this run
// (the interpreter's RDTSC and the JIT's, jit/tier.ts jitRdtsc).
export function readTsc(retiredNow: u32): void {
  const t = tsc() + <u64>retiredNow;
  setReg32(EAX, <u32>t);
  setReg32(EDX, <u32>(t >> 32));
}

// CPUID answers from the running vCPU's table, which the host wrote (as
// KVM_SET_CPUID2 does); a leaf the table lacks reads as zeros. Only when the
// host asked to see every CPUID (CPUID_CONTROL) does it leave.
let cpuidTable: u32 = CPUID_TABLE;
export function selectCpuidTable(v: u32): void { cpuidTable = CPUID_TABLE + v * CPUID_TABLE_SIZE; }

// CPUID.1:EDX as this vCPU's table answers it: the features the guest was told of.
// Features the CPU model decides (FXSR, SSE, SSE2) are read from here.
export function cpuidFeatures(): u32 {
  let n = load<u32>(cpuidTable + CPUID_COUNT);
  if (n > CPUID_MAX_ENTRIES) n = CPUID_MAX_ENTRIES;
  const end = cpuidTable + CPUID_ENTRIES + n * CPUID_ENTRY_SIZE;
  for (let e = cpuidTable + CPUID_ENTRIES; e < end; e += CPUID_ENTRY_SIZE) {
    if (load<u32>(e + CPUID_E_LEAF) == 1) return load<u32>(e + CPUID_E_EDX);
  }
  return 0;
}

export function cpuid(): void {
  const leaf = reg32(EAX), sub = reg32(ECX);
  if (load<u32>(CPUID_CONTROL)) {
    store<u32>(EXIT_CPUID_LEAF, leaf);
    store<u32>(EXIT_CPUID_SUBLEAF, sub);
    requestExit(ExitReason.Cpuid);
    return;
  }
  let n = load<u32>(cpuidTable + CPUID_COUNT);
  if (n > CPUID_MAX_ENTRIES) n = CPUID_MAX_ENTRIES;
  const end = cpuidTable + CPUID_ENTRIES + n * CPUID_ENTRY_SIZE;
  for (let e = cpuidTable + CPUID_ENTRIES; e < end; e += CPUID_ENTRY_SIZE) {
    if (load<u32>(e + CPUID_E_LEAF) != leaf) continue;
    if ((load<u32>(e + CPUID_E_FLAGS) & CpuidFlag.Indexed) && load<u32>(e + CPUID_E_INDEX) != sub) continue;
    setReg32(EAX, load<u32>(e + CPUID_E_EAX));
    setReg32(EBX, load<u32>(e + CPUID_E_EBX));
    setReg32(ECX, load<u32>(e + CPUID_E_ECX));
    setReg32(EDX, load<u32>(e + CPUID_E_EDX));
    return;
  }
  setReg32(EAX, 0); setReg32(EBX, 0); setReg32(ECX, 0); setReg32(EDX, 0);
}

// With a policy's MSR filter on, an access first exits for permission; the
// host grants it (S_MSR_GRANT) and runs the instruction again, or refuses it.
function msrPermitted(idx: u32, dir: u32): bool {
  if (!load<u32>(ACTIVE + S_MSR_FILTER)) return true;
  if (load<u32>(ACTIVE + S_MSR_GRANT)) { store<u32>(ACTIVE + S_MSR_GRANT, 0); return true; }
  store<u32>(EXIT_MSR_INDEX, idx);
  store<u32>(EXIT_MSR_DIR, dir | MSR_ASK);
  store<u32>(EXIT_MSR_LO, reg32(EAX));
  store<u32>(EXIT_MSR_HI, reg32(EDX));
  requestExit(ExitReason.Msr);
  return false;
}

export function rdmsr(): void {
  const retiredNow = retired;
  if (!requirePrivilege()) return;
  const idx = reg32(ECX);
  if (!msrPermitted(idx, 1)) return;
  let v: u64 = 0;
  switch (idx) {
    case 0x10: v = tsc() + <u64>retiredNow; break;
    case 0x1B: v = <u64>load<u32>(ACTIVE + S_APIC_BASE); break;
    case 0x8B: break; // IA32_BIOS_SIGN_ID (P6 on): no microcode update loaded, revision 0
    case 0x1A0: v = load<u64>(ACTIVE + S_MISC_ENABLE); break;
    case 0x277: v = load<u64>(ACTIVE + S_PAT); break;
    case 0x174: v = <u64>load<u32>(ACTIVE + S_SYSENTER_CS); break;
    case 0x175: v = <u64>load<u32>(ACTIVE + S_SYSENTER_ESP); break;
    case 0x176: v = <u64>load<u32>(ACTIVE + S_SYSENTER_EIP); break;
    default:
      store<u32>(EXIT_MSR_INDEX, idx);
      store<u32>(EXIT_MSR_DIR, 1);
      requestExit(ExitReason.Msr);
      return;
  }
  setReg32(EAX, <u32>v);
  setReg32(EDX, <u32>(v >> 32));
}

// IA32_MISC_ENABLE: fast strings on (as firmware leaves it); no branch-trace
// store and no PEBS (bits 11 and 12, read-only, like bit 7: no performance monitoring).
export const MISC_ENABLE_RESET: u64 = 0x1801;
const MISC_ENABLE_READ_ONLY: u64 = 0x1880;
// IA32_PAT at power-on: WB WT UC- UC in both halves.
export const PAT_RESET: u64 = 0x0007040600070406;

export function wrmsr(): void {
  if (!requirePrivilege()) return;
  const idx = reg32(ECX);
  const lo = reg32(EAX), hi = reg32(EDX);
  if (!msrPermitted(idx, 0)) return;
  switch (idx) {
    case 0x10: store<u64>(ACTIVE + S_TSC, ((<u64>hi << 32) | <u64>lo) - load<u64>(ACTIVE + S_INSTRET)); return;
    case 0x1B: store<u32>(ACTIVE + S_APIC_BASE, lo); return;
    case 0x8B: return; // software clears it before CPUID, which would load the revision
    case 0x1A0: { // the read-only bits keep their value
      const old = load<u64>(ACTIVE + S_MISC_ENABLE);
      store<u64>(ACTIVE + S_MISC_ENABLE, (((<u64>hi << 32) | <u64>lo) & ~MISC_ENABLE_READ_ONLY) | (old & MISC_ENABLE_READ_ONLY));
      return;
    }
    case 0x277: { // each entry must name a memory type: 0 1 4 5 6 7
      for (let i: u32 = 0; i < 8; i++) {
        const t = ((i < 4 ? lo : hi) >>> ((i & 3) << 3)) & 0xFF;
        if (t > 7 || t == 2 || t == 3) { raise(GP, 0, true); return; }
      }
      store<u64>(ACTIVE + S_PAT, (<u64>hi << 32) | <u64>lo);
      return;
    }
    case 0x174: store<u32>(ACTIVE + S_SYSENTER_CS, lo); return;
    case 0x175: store<u32>(ACTIVE + S_SYSENTER_ESP, lo); return;
    case 0x176: store<u32>(ACTIVE + S_SYSENTER_EIP, lo); return;
    default:
      store<u32>(EXIT_MSR_INDEX, idx);
      store<u32>(EXIT_MSR_DIR, 0);
      store<u32>(EXIT_MSR_LO, lo);
      store<u32>(EXIT_MSR_HI, hi);
      requestExit(ExitReason.Msr);
  }
}
