// The core's memory map: every fixed table lives at a constant offset in the
// instance's linear memory, so the host can read it with a DataView.
// The host mirrors this file in src/core/layout.ts; test/layout.test.ts checks
// that both sides agree field by field.

// ---- Exit record: what `enter` leaves for the host (like kvm_run) ----------
export const EXIT: u32 = 0x1000;
export const EXIT_REASON: u32 = EXIT + 0;     // ExitReason
export const EXIT_RETIRED: u32 = EXIT + 4;    // instructions retired in this entry
// port I/O payload
export const EXIT_IO_DIR: u32 = EXIT + 8;     // 0 = out, 1 = in
export const EXIT_IO_SIZE: u32 = EXIT + 12;   // 1, 2 or 4 bytes per item
export const EXIT_IO_PORT: u32 = EXIT + 16;
export const EXIT_IO_COUNT: u32 = EXIT + 20;  // items; > 1 for string I/O, items in IO_BUFFER
export const EXIT_IO_DATA: u32 = EXIT + 24;   // the value for a single item
// MMIO payload
export const EXIT_MMIO_ADDR: u32 = EXIT + 28; // guest-physical address
export const EXIT_MMIO_SIZE: u32 = EXIT + 32; // 1, 2 or 4
export const EXIT_MMIO_DIR: u32 = EXIT + 36;  // 0 = write, 1 = read
export const EXIT_MMIO_DATA: u32 = EXIT + 40;
// CPUID / MSR payload (the host answers by writing registers)
export const EXIT_CPUID_LEAF: u32 = EXIT + 44;
export const EXIT_CPUID_SUBLEAF: u32 = EXIT + 48;
export const EXIT_MSR_INDEX: u32 = EXIT + 52;
export const EXIT_MSR_DIR: u32 = EXIT + 56;   // 0 = wrmsr, 1 = rdmsr; | MSR_ASK: a filter asks permission
export const EXIT_MSR_LO: u32 = EXIT + 60;
export const EXIT_MSR_HI: u32 = EXIT + 64;
// EXIT_MSR_DIR bit: the exit asks whether the guest may use this MSR; the host
// sets S_MSR_GRANT and runs the instruction again, or applies its policy.
export const MSR_ASK: u32 = 2;
// why the guest stopped (shutdown / internal error): the last exception taken
export const EXIT_DETAIL_VECTOR: u32 = EXIT + 68;
export const EXIT_DETAIL_ERROR: u32 = EXIT + 72;
export const EXIT_DETAIL_EIP: u32 = EXIT + 76;    // linear address of the instruction
export const EXIT_DETAIL_OPCODE: u32 = EXIT + 80; // up to 4 opcode bytes, first in the low byte
export const EXIT_DETAIL_FLAGS: u32 = EXIT + 84;  // DetailFlag bits
export const EXIT_INSN_EIP: u32 = EXIT + 88;      // EIP of the instruction that exited
// EXIT + 96 .. EXIT + 127: the core's scratch space (POPA)
export const SCRATCH: u32 = EXIT + 96;
export const EXIT_SIZE: u32 = 128;

export const enum ExitReason {
  None = 0,
  Io = 1,         // IN/OUT/INS/OUTS
  Mmio = 2,       // access to guest-physical memory outside RAM
  Hlt = 3,        // HLT executed; the vCPU waits for an interrupt
  Shutdown = 4,   // triple fault
  Budget = 5,     // instruction budget spent (preemption)
  Cpuid = 6,      // CPUID, answered by the host's policy
  Msr = 7,        // RDMSR/WRMSR of an MSR the core does not know
  Breakpoint = 8, // a host breakpoint address was reached
  Error = 9,      // the core cannot continue (unsupported situation); detail says why
  FpuError = 10,  // FERR#: an unmasked x87 exception with CR0.NE = 0 (a PC raises IRQ 13)
  IrqWindow = 11, // the guest can take an external interrupt now (S_IRQ_WINDOW asked for it)
  Pause = 12,     // PAUSE with S_PAUSE_EXIT: the guest spins, waiting for another vCPU
}

export const enum DetailFlag {
  Unimplemented = 1, // the #UD came from an opcode the core does not implement
  HasOpcode = 2,     // EXIT_DETAIL_OPCODE is valid
}

// Internal-error codes in EXIT_DETAIL_ERROR for ExitReason.Error.
export const enum ErrorCode {
  MmioWrites = 1,       // one instruction wrote MMIO more than MMIO_QUEUE_MAX + 1 times
  PhysAbove4G = 3,      // a PAE entry maps a frame above 4 GiB
  MmioReads = 4,        // one instruction read MMIO more than MMIO_LOG_MAX times
}

// String I/O data (rep ins/outs) travels through this buffer.
export const IO_BUFFER: u32 = 0x2000;
export const IO_BUFFER_SIZE: u32 = 0x1000;

// ---- CPUID table: what CPUID answers, set by the host (as KVM_SET_CPUID2) -----
// One table per vCPU (leaf 1 carries the vCPU's APIC ID). The core answers
// CPUID from it without leaving; a leaf that is not in the table reads as
// zeros. With CPUID_CONTROL = 1 every CPUID exits to the host instead (a
// policy or a tracer that wants to see each one).
export const CPUID_CONTROL: u32 = 0x8000;
export const CPUID_TABLE: u32 = 0x8020;      // vCPU v's table is at CPUID_TABLE + v * CPUID_TABLE_SIZE
export const CPUID_TABLE_SIZE: u32 = 0x400;
export const CPUID_COUNT: u32 = 0;           // entries in use
export const CPUID_ENTRIES: u32 = 32;        // the first entry
export const CPUID_ENTRY_SIZE: u32 = 32;
export const CPUID_MAX_ENTRIES: u32 = 31;
// Entry fields.
export const CPUID_E_LEAF: u32 = 0;
export const CPUID_E_INDEX: u32 = 4;         // the subleaf (ECX), when CpuidFlag.Indexed
export const CPUID_E_FLAGS: u32 = 8;
export const CPUID_E_EAX: u32 = 12;
export const CPUID_E_EBX: u32 = 16;
export const CPUID_E_ECX: u32 = 20;
export const CPUID_E_EDX: u32 = 24;
export const enum CpuidFlag { Indexed = 1 } // the entry answers only for its subleaf

// ---- vCPU state -------------------------------------------------------------
// The running vCPU's state lives at ACTIVE; the others are parked in slots and
// swapped in by `enter`. `stateOffset(v)` tells the host where vCPU v lives now.
export const ACTIVE: u32 = 0x3000;
export const VCPU_SLOTS: u32 = 0x4000;
export const VCPU_STATE_SIZE: u32 = 0x400;
export const MAX_VCPUS: u32 = 16;

// Offsets inside a vCPU state block.
export const S_GPR: u32 = 0;        // eax ecx edx ebx esp ebp esi edi (x86 numbering)
export const S_EIP: u32 = 32;
export const S_EFLAGS: u32 = 36;    // the flags; arithmetic bits are stale while S_LAZY_OP != 0
export const S_LAZY_OP: u32 = 40;   // LazyOp of the last flag-setting instruction, 0 = none
export const S_LAZY_SIZE: u32 = 44; // 0 = byte, 1 = word, 2 = dword
export const S_LAZY_A: u32 = 48;
export const S_LAZY_B: u32 = 52;
export const S_LAZY_R: u32 = 56;
export const S_SEG: u32 = 64;       // 8 segment caches: es cs ss ds fs gs ldtr tr
export const SEG_SIZE: u32 = 32;
export const SEG_SELECTOR: u32 = 0;
export const SEG_BASE: u32 = 4;
export const SEG_LIMIT: u32 = 8;    // byte-granular (already scaled by G)
export const SEG_ATTR: u32 = 12;    // descriptor access byte | flags nibble << 8 (bit 14 D/B, 15 G)
export const SEG_LO: u32 = 16;      // derived: lowest valid offset
export const SEG_HI: u32 = 20;      // derived: highest valid offset
export const SEG_RIGHTS: u32 = 24;  // derived: SegRight bits
export const S_GDTR_BASE: u32 = 320;
export const S_GDTR_LIMIT: u32 = 324;
export const S_IDTR_BASE: u32 = 328;
export const S_IDTR_LIMIT: u32 = 332;
export const S_CR0: u32 = 336;
export const S_CR2: u32 = 340;
export const S_CR3: u32 = 344;
export const S_CR4: u32 = 348;
export const S_DR: u32 = 352;       // dr0..dr7
export const S_TSC: u32 = 384;      // u64: time-stamp counter
export const S_INSTRET: u32 = 392;  // u64: instructions retired, ever
export const S_HALTED: u32 = 400;   // 1 while waiting in HLT
export const S_SHADOW: u32 = 404;   // 1: no interrupt before the next instruction (STI, MOV SS)
export const S_IRQ: u32 = 408;      // injected external interrupt vector, -1 = none
export const S_CPL: u32 = 412;
export const S_PENDING_IO: u32 = 416;   // PendingIo: an IN/INS waiting for the host's data
export const S_PENDING_DEST: u32 = 420; // for INS: the linear address of the first item
export const S_MMIO_REPLAY: u32 = 424;  // 1: EXIT_MMIO_DATA answers the next MMIO read
export const S_A20_MASK: u32 = 428;
export const S_LAST_VECTOR: u32 = 432;  // last exception taken (for crash reports)
export const S_LAST_ERROR: u32 = 436;
export const S_LAST_EIP: u32 = 440;
export const S_LAST_OPCODE: u32 = 444;
export const S_LAST_FLAGS: u32 = 448;
export const S_SYSENTER_CS: u32 = 452;
export const S_SYSENTER_ESP: u32 = 456;
export const S_SYSENTER_EIP: u32 = 460;
export const S_APIC_BASE: u32 = 464;
export const S_PENDING_ATTR: u32 = 472;   // for INS: the decoded attributes (address size, REP)
export const S_MSR_FILTER: u32 = 476;     // 1: each RDMSR/WRMSR first asks the host (a policy's MSR filter)
export const S_MSR_GRANT: u32 = 480;      // 1: the host allowed the next RDMSR/WRMSR (one use)
export const S_NMI: u32 = 484;            // NmiBit: an NMI waits / NMIs are blocked until the next IRET
export const S_IRQ_WINDOW: u32 = 488;     // 1: exit (IrqWindow) at the first boundary that could take an external interrupt
export const S_PAUSE_EXIT: u32 = 492;     // 1: PAUSE exits (Pause): a spinning vCPU yields to the others, as KVM's pause-loop exiting
export const S_MISC_ENABLE: u32 = 496;    // u64: IA32_MISC_ENABLE
export const S_PAT: u32 = 504;            // u64: IA32_PAT
// PAE: the 4 PDPTEs (u64 each), loaded from CR3 by MOV CR3 / enabling paging, as the CPU caches them.
export const S_PDPTE: u32 = 992;

// Per-vCPU counters (u64 each), indexed by Counter.
export const S_COUNTERS: u32 = 512;
export const enum Counter {
  ShadowFills = 0,       // soft-TLB misses that filled an entry
  GuestWalks = 1,        // walks of the guest's page tables
  GuestPageFaults = 2,   // #PF injected into the guest
  PtWriteTraps = 3,      // guest writes to its own page tables that trapped
  FlushCr3 = 4,          // TLB flushes by a CR3 write
  FlushInvlpg = 5,       // single-page flushes by INVLPG
  FlushCr0Cr4 = 6,       // flushes by paging-related CR0/CR4 changes
  FlushFull = 7,         // every full flush, whatever the cause
  CodeInvalidations = 8, // pages of decoded code dropped because they were written
  BlocksDecoded = 9,     // blocks decoded into the block cache
  Exceptions = 10,       // exceptions delivered to the guest
  Interrupts = 11,       // external interrupts delivered
  PtWriteDrops = 12,     // shadow entries dropped because the guest wrote the entry they came from
  GlobalsKept = 13,      // global shadow entries kept across CR3 reloads (CR4.PGE)
  Count = 14,
}

// x87 FPU state (after the counters). Registers are kept by physical number;
// ST(i) is register (TOP + i) & 7, TOP being bits 11-13 of the status word.
export const S_FPU_CW: u32 = 640;    // control word
export const S_FPU_SW: u32 = 644;    // status word (with TOP)
export const S_FPU_EMPTY: u32 = 648; // bit i: physical register i is empty (tag 11)
export const S_FPU_FOP: u32 = 652;   // opcode of the last non-control instruction (11 bits)
export const S_FPU_FIP: u32 = 656;   // its offset and code selector
export const S_FPU_FCS: u32 = 660;
export const S_FPU_FDP: u32 = 664;   // its memory operand's offset and selector
export const S_FPU_FDS: u32 = 668;
export const S_FPU_REGS: u32 = 672;  // 8 x FPU_REG_SIZE: u64 significand, u16 sign | exponent
export const FPU_REG_SIZE: u32 = 16;
// Core-private (the host never reads them): the MMIO reads the host answered
// for the instruction being run again (cpu/mmio-replay.ts).
export const MMIO_READS: u32 = 800;  // entries in the log
export const MMIO_LOG: u32 = 804;    // MMIO_LOG_MAX x { addr, size, data }
export const MMIO_LOG_MAX: u32 = 8;
// ... and the MMIO writes waiting behind the one in the exit record (cpu/mmio-writes.ts).
export const MMIO_WRITES: u32 = 900; // entries in the queue
export const MMIO_QUEUE: u32 = 904;  // MMIO_QUEUE_MAX x { addr, size, data }
export const MMIO_QUEUE_MAX: u32 = 7;

export const enum PendingIo { None = 0, In = 1, Ins = 2 }

export const enum NmiBit { Pending = 1, Blocked = 2 }

export const enum SegRight { Read = 1, Write = 2, Usable = 4, Code = 8 }

export const SEG_ES: u32 = 0;
export const SEG_CS: u32 = 1;
export const SEG_SS: u32 = 2;
export const SEG_DS: u32 = 3;
export const SEG_FS: u32 = 4;
export const SEG_GS: u32 = 5;
export const SEG_LDTR: u32 = 6;
export const SEG_TR: u32 = 7;

// ---- Caches -------------------------------------------------------------------
// Soft TLB: one u32 per linear page; host address of the page | TlbBit flags.
export const TLB_READ: u32 = 0x100000;  // 4 MiB
export const TLB_WRITE: u32 = 0x500000; // 4 MiB: pages writable without a trap
// Linear pages with a live TLB entry, so a flush touches only those.
export const TLB_LIST: u32 = 0x900000;
export const TLB_LIST_MAX: u32 = 0x10000;    // entries (u32 each): 256 KiB
// Per guest-physical page: PageInfo bits, low bits = generation of its decoded code.
export const PAGE_INFO: u32 = 0x940000;      // 4 bytes per page, up to 2 GiB of RAM: 2 MiB
export const MAX_RAM_PAGES: u32 = 0x80000;
// Decoded blocks (the decode-once cache).
export const BLOCKS: u32 = 0xB40000;
export const BLOCK_COUNT: u32 = 4096;
export const BLOCK_MAX_INSNS: u32 = 16;
export const RECORD_SIZE: u32 = 32;
export const BLOCK_HEADER: u32 = 32;
export const BLOCK_SIZE: u32 = BLOCK_HEADER + BLOCK_MAX_INSNS * RECORD_SIZE; // 544
// One record for instructions that are never cached (crossing a page).
export const SCRATCH_RECORD: u32 = 0xF00000 - 64;

export const enum TlbBit { Super = 1, User = 2 }

export const enum PageInfo {
  Code = 0x80000000,      // decoded blocks come from this frame: writes trap and invalidate them
  PageTable = 0x40000000, // holds PTEs that live shadow entries came from: writes trap
  PageDir = 0x20000000,   // holds PDEs that live shadow entries came from: writes trap
  Generation = 0x1FFFFFFF,
}

// ---- Shadow bookkeeping (mmu/shadow.ts) ----------------------------------------
// Per linear page: where its shadow entry came from, so a write to a guest
// page-table entry drops exactly the entries made from it.
export const SLOT_PTE: u32 = 0x1000000;      // guest-phys of the last-level entry | flags (mmu/shadow.ts): 4 MiB
export const SLOT_PDE: u32 = 0x1400000;      // guest-phys of the PDE | flags (mmu/shadow.ts): 4 MiB
// Per guest-physical page (u16): 1 + the directory index whose PDE points at
// this page table, FRAME_DIR_MANY when several do, 0 when none.
export const FRAME_DIR: u32 = 0x1800000;     // 2 bytes per page: 1 MiB
export const FRAME_DIR_MANY: u32 = 0xFFFF;
// Frames marked PageTable/PageDir (each at most once), so a flush can clear the marks.
export const TABLE_LIST: u32 = 0x1900000;    // u32 per RAM page: 2 MiB
// Per 4 MiB linear region (u8): 1 when a live shadow entry maps part of a 4 MiB page.
export const REGION_BIG: u32 = 0x1B00000;    // 1 KiB

// ---- JIT (assembly/jit/) ---------------------------------------------------------
// Regions waiting to be compiled, their function bodies, and the module the
// host compiles from them (one batch at a time).
export const JIT_QUEUE: u32 = 0x1B01000;     // JIT_QUEUE_MAX x 32 bytes
export const JIT_QUEUE_MAX: u32 = 64;
export const JIT_BODIES: u32 = 0x1C00000;    // 1 MiB of function bodies
export const JIT_BODIES_SIZE: u32 = 0x100000;
export const JIT_MODULE: u32 = 0x1D00000;    // the module: header, then the bodies (up to 2 MiB)
export const JIT_MODULE_SIZE: u32 = 0x200000;
// Function-table index of block slot 0's region (below it: the core's own entries).
export const JIT_TABLE_BASE: u32 = 16;

// AssemblyScript's own static data starts at --memoryBase (asconfig.json: 15 MiB).
// Guest RAM starts here: guest-physical address p is at RAM_BASE + p.
export const RAM_BASE: u32 = 0x2000000;
