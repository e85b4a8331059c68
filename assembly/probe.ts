// Layout self-test: writes a value derived from each field's name at the
// field's offset, so the host can check that its mirror of layout.ts agrees
// (test/layout.test.ts). The names are the host's (src/core/layout.ts).
import {
  ACTIVE, EXIT_CPUID_LEAF, EXIT_CPUID_SUBLEAF, EXIT_DETAIL_EIP, EXIT_DETAIL_ERROR, EXIT_DETAIL_FLAGS, EXIT_DETAIL_OPCODE, EXIT_DETAIL_VECTOR, EXIT_INSN_EIP, EXIT_IO_COUNT, EXIT_IO_DATA, EXIT_IO_DIR, EXIT_IO_PORT, EXIT_IO_SIZE, EXIT_MMIO_ADDR, EXIT_MMIO_DATA, EXIT_MMIO_DIR, EXIT_MMIO_SIZE, EXIT_MSR_DIR, EXIT_MSR_HI, EXIT_MSR_INDEX, EXIT_MSR_LO, EXIT_REASON, EXIT_RETIRED, SEG_ATTR, SEG_BASE, SEG_HI, SEG_LIMIT, SEG_LO, SEG_RIGHTS, SEG_SELECTOR, S_A20_MASK, S_APIC_BASE, S_COUNTERS, S_CPL, S_CR0, S_CR2, S_CR3, S_CR4, S_DR, S_EFLAGS, S_EIP, S_GDTR_BASE, S_GDTR_LIMIT, S_GPR, S_HALTED, S_IDTR_BASE, S_IDTR_LIMIT, S_INSTRET, S_IRQ, S_LAST_EIP, S_LAST_ERROR, S_LAST_FLAGS, S_LAST_OPCODE, S_LAST_VECTOR, S_LAZY_A, S_LAZY_B, S_LAZY_OP, S_LAZY_R, S_LAZY_SIZE, S_MMIO_REPLAY, S_PENDING_ATTR, S_PENDING_DEST, S_PENDING_IO, S_SEG, S_SHADOW, S_SYSENTER_CS, S_SYSENTER_EIP, S_SYSENTER_ESP, S_TSC,
} from "./layout";

// FNV-1a of the name: both sides compute it.
function fnv(name: string): u32 {
  let h: u32 = 0x811C9DC5;
  for (let i = 0; i < name.length; i++) { h ^= <u32>name.charCodeAt(i); h *= 0x01000193; }
  return h;
}

let fields: u32 = 0;
function put(name: string, at: u32): void { store<u32>(at, fnv(name)); fields++; }

// Returns how many fields it wrote.
export function layoutProbe(): u32 {
  fields = 0;
  put("exit.reason", EXIT_REASON);
  put("exit.retired", EXIT_RETIRED);
  put("exit.ioDir", EXIT_IO_DIR);
  put("exit.ioSize", EXIT_IO_SIZE);
  put("exit.ioPort", EXIT_IO_PORT);
  put("exit.ioCount", EXIT_IO_COUNT);
  put("exit.ioData", EXIT_IO_DATA);
  put("exit.mmioAddr", EXIT_MMIO_ADDR);
  put("exit.mmioSize", EXIT_MMIO_SIZE);
  put("exit.mmioDir", EXIT_MMIO_DIR);
  put("exit.mmioData", EXIT_MMIO_DATA);
  put("exit.cpuidLeaf", EXIT_CPUID_LEAF);
  put("exit.cpuidSubleaf", EXIT_CPUID_SUBLEAF);
  put("exit.msrIndex", EXIT_MSR_INDEX);
  put("exit.msrDir", EXIT_MSR_DIR);
  put("exit.msrLo", EXIT_MSR_LO);
  put("exit.msrHi", EXIT_MSR_HI);
  put("exit.detailVector", EXIT_DETAIL_VECTOR);
  put("exit.detailError", EXIT_DETAIL_ERROR);
  put("exit.detailEip", EXIT_DETAIL_EIP);
  put("exit.detailOpcode", EXIT_DETAIL_OPCODE);
  put("exit.detailFlags", EXIT_DETAIL_FLAGS);
  put("exit.insnEip", EXIT_INSN_EIP);
  put("state.gpr", ACTIVE + S_GPR);
  put("state.eip", ACTIVE + S_EIP);
  put("state.eflags", ACTIVE + S_EFLAGS);
  put("state.lazyOp", ACTIVE + S_LAZY_OP);
  put("state.lazySize", ACTIVE + S_LAZY_SIZE);
  put("state.lazyA", ACTIVE + S_LAZY_A);
  put("state.lazyB", ACTIVE + S_LAZY_B);
  put("state.lazyR", ACTIVE + S_LAZY_R);
  put("state.seg", ACTIVE + S_SEG);
  put("seg.selector", ACTIVE + S_SEG + SEG_SELECTOR);
  put("seg.base", ACTIVE + S_SEG + SEG_BASE);
  put("seg.limit", ACTIVE + S_SEG + SEG_LIMIT);
  put("seg.attr", ACTIVE + S_SEG + SEG_ATTR);
  put("seg.lo", ACTIVE + S_SEG + SEG_LO);
  put("seg.hi", ACTIVE + S_SEG + SEG_HI);
  put("seg.rights", ACTIVE + S_SEG + SEG_RIGHTS);
  put("state.gdtrBase", ACTIVE + S_GDTR_BASE);
  put("state.gdtrLimit", ACTIVE + S_GDTR_LIMIT);
  put("state.idtrBase", ACTIVE + S_IDTR_BASE);
  put("state.idtrLimit", ACTIVE + S_IDTR_LIMIT);
  put("state.cr0", ACTIVE + S_CR0);
  put("state.cr2", ACTIVE + S_CR2);
  put("state.cr3", ACTIVE + S_CR3);
  put("state.cr4", ACTIVE + S_CR4);
  put("state.dr", ACTIVE + S_DR);
  put("state.tsc", ACTIVE + S_TSC);
  put("state.instret", ACTIVE + S_INSTRET);
  put("state.halted", ACTIVE + S_HALTED);
  put("state.shadow", ACTIVE + S_SHADOW);
  put("state.irq", ACTIVE + S_IRQ);
  put("state.cpl", ACTIVE + S_CPL);
  put("state.pendingIo", ACTIVE + S_PENDING_IO);
  put("state.pendingDest", ACTIVE + S_PENDING_DEST);
  put("state.mmioReplay", ACTIVE + S_MMIO_REPLAY);
  put("state.a20Mask", ACTIVE + S_A20_MASK);
  put("state.lastVector", ACTIVE + S_LAST_VECTOR);
  put("state.lastError", ACTIVE + S_LAST_ERROR);
  put("state.lastEip", ACTIVE + S_LAST_EIP);
  put("state.lastOpcode", ACTIVE + S_LAST_OPCODE);
  put("state.lastFlags", ACTIVE + S_LAST_FLAGS);
  put("state.sysenterCs", ACTIVE + S_SYSENTER_CS);
  put("state.sysenterEsp", ACTIVE + S_SYSENTER_ESP);
  put("state.sysenterEip", ACTIVE + S_SYSENTER_EIP);
  put("state.apicBase", ACTIVE + S_APIC_BASE);
  put("state.pendingAttr", ACTIVE + S_PENDING_ATTR);
  put("state.counters", ACTIVE + S_COUNTERS);
  return fields;
}
