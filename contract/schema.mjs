// The core/host contract, declared once. scripts/gen-contract.mjs turns it into
// assembly/layout.ts (the core's constants and enums), src/core/layout.ts (the
// host's view) and assembly/probe.ts (the layout self-test), at build time.
//
// A record's fields are laid out in order, each `size` bytes after the last;
// a field named `null` is reserved space. Field names are the host's (camelCase);
// the core's constant is the record's prefix + the name in UPPER_SNAKE, or `core`.
// `private` fields are the core's alone: the host view does not show them.

/** The exit record `enter` leaves for the host (like kvm_run). */
export const exit = {
  at: 0x1000, prefix: 'EXIT_', host: 'Exit', absolute: true, size: 128,
  fields: [
    { name: 'reason', size: 4, doc: 'ExitReason' },
    { name: 'retired', size: 4, doc: 'instructions retired in this entry' },
    // port I/O payload
    { name: 'ioDir', size: 4, doc: '0 = out, 1 = in' },
    { name: 'ioSize', size: 4, doc: '1, 2 or 4 bytes per item' },
    { name: 'ioPort', size: 4 },
    { name: 'ioCount', size: 4, doc: 'items; > 1 for string I/O, items in IO_BUFFER' },
    { name: 'ioData', size: 4, doc: 'the value for a single item' },
    // MMIO payload
    { name: 'mmioAddr', size: 4, doc: 'guest-physical address' },
    { name: 'mmioSize', size: 4, doc: '1, 2 or 4' },
    { name: 'mmioDir', size: 4, doc: '0 = write, 1 = read' },
    { name: 'mmioData', size: 4 },
    // CPUID / MSR payload (the host answers by writing registers)
    { name: 'cpuidLeaf', size: 4 },
    { name: 'cpuidSubleaf', size: 4 },
    { name: 'msrIndex', size: 4 },
    { name: 'msrDir', size: 4, doc: '0 = wrmsr, 1 = rdmsr; | MSR_ASK: a filter asks permission' },
    { name: 'msrLo', size: 4 },
    { name: 'msrHi', size: 4 },
    // why the guest stopped (shutdown / internal error): the last exception taken
    { name: 'detailVector', size: 4 },
    { name: 'detailError', size: 4 },
    { name: 'detailEip', size: 4, doc: 'linear address of the instruction' },
    { name: 'detailOpcode', size: 4, doc: 'up to 4 opcode bytes, first in the low byte' },
    { name: 'detailFlags', size: 4, doc: 'DetailFlag bits' },
    { name: 'insnEip', size: 4, doc: 'EIP of the instruction that exited' },
    { name: 'stopWord', core: 'STOP_WORD', size: 4, private: true, doc: "byte 0: nonzero while an instruction aborted or stopped its block, 2 after a jump the run loop follows inside the block (cpu/fault.ts): one load per instruction in the run loop; byte 1: such jumps allowed (JUMP_OK)" },
    { name: 'scratch', core: 'SCRATCH', size: 32, private: true, doc: "the core's scratch space (POPA)" },
  ],
};

/** One vCPU's state block: at ACTIVE while it runs, parked in a slot otherwise. */
export const state = {
  prefix: 'S_', host: 'State', size: 0x600, sizeName: 'VCPU_STATE_SIZE',
  fields: [
    { name: 'gpr', size: 32, doc: 'eax ecx edx ebx esp ebp esi edi (x86 numbering)' },
    { name: 'eip', size: 4 },
    { name: 'eflags', size: 4, doc: 'the flags; arithmetic bits are stale while S_LAZY_OP != 0' },
    { name: 'lazyOp', size: 4, doc: 'LazyOp of the last flag-setting instruction, 0 = none' },
    { name: 'lazySize', size: 4, doc: '0 = byte, 1 = word, 2 = dword' },
    { name: 'lazyA', size: 4 },
    { name: 'lazyB', size: 4 },
    { name: 'lazyR', size: 4 },
    { name: null, size: 4 },
    { name: 'seg', size: 256, doc: '8 segment caches (Seg): es cs ss ds fs gs ldtr tr' },
    { name: 'gdtrBase', size: 4 },
    { name: 'gdtrLimit', size: 4 },
    { name: 'idtrBase', size: 4 },
    { name: 'idtrLimit', size: 4 },
    { name: 'cr0', size: 4 },
    { name: 'cr2', size: 4 },
    { name: 'cr3', size: 4 },
    { name: 'cr4', size: 4 },
    { name: 'dr', size: 32, doc: 'dr0..dr7' },
    { name: 'tsc', size: 8, doc: 'u64: time-stamp counter' },
    { name: 'instret', size: 8, doc: 'u64: instructions retired, ever' },
    { name: 'halted', size: 4, doc: '1 while waiting in HLT' },
    { name: 'shadow', size: 4, doc: '1: no interrupt before the next instruction (STI, MOV SS)' },
    { name: 'irq', size: 4, doc: 'injected external interrupt vector, -1 = none' },
    { name: 'cpl', size: 4 },
    { name: 'pendingIo', size: 4, doc: 'PendingIo: an IN/INS waiting for the host\'s data (core.completeIo)' },
    { name: 'pendingDest', size: 4, doc: 'for INS: the linear address of the first item' },
    { name: 'mmioReplay', size: 4, doc: '1: EXIT_MMIO_DATA answers the next MMIO read (core.completeMmioRead)' },
    { name: 'a20Mask', size: 4 },
    { name: 'lastVector', size: 4, doc: 'last exception taken (for crash reports)' },
    { name: 'lastError', size: 4 },
    { name: 'lastEip', size: 4 },
    { name: 'lastOpcode', size: 4 },
    { name: 'lastFlags', size: 4 },
    { name: 'sysenterCs', size: 4 },
    { name: 'sysenterEsp', size: 4 },
    { name: 'sysenterEip', size: 4 },
    { name: 'apicBase', size: 8 },
    { name: 'pendingAttr', size: 4, doc: 'for INS: the decoded attributes (address size, REP)' },
    { name: 'msrFilter', size: 4, doc: "1: each RDMSR/WRMSR first asks the host (a policy's MSR filter)" },
    { name: 'msrGrant', size: 4, doc: '1: the host allowed the next RDMSR/WRMSR (one use; core.grantMsr)' },
    { name: 'nmi', size: 4, doc: 'NmiBit: an NMI waits / NMIs are blocked until the next IRET' },
    { name: 'irqWindow', size: 4, doc: '1: exit (IrqWindow) at the first boundary that could take an external interrupt' },
    { name: 'pauseExit', size: 4, doc: "1: PAUSE exits (Pause): a spinning vCPU yields to the others, as KVM's pause-loop exiting" },
    { name: 'miscEnable', size: 8, doc: 'u64: IA32_MISC_ENABLE' },
    { name: 'pat', size: 8, doc: 'u64: IA32_PAT' },
    { name: 'counters', size: 128, doc: 'u64 per Counter' },
    // x87: registers kept by physical number; ST(i) is register (TOP + i) & 7
    { name: 'fpuCw', size: 4, doc: 'control word' },
    { name: 'fpuSw', size: 4, doc: 'status word (with TOP)' },
    { name: 'fpuEmpty', size: 4, doc: 'bit i: physical register i is empty (tag 11)' },
    { name: 'fpuFop', size: 4, doc: 'opcode of the last non-control instruction (11 bits)' },
    { name: 'fpuFip', size: 4, doc: 'its offset and code selector' },
    { name: 'fpuFcs', size: 4 },
    { name: 'fpuFdp', size: 4, doc: 'its memory operand\'s offset and selector' },
    { name: 'fpuFds', size: 4 },
    { name: 'fpuRegs', size: 128, doc: '8 x FPU_REG_SIZE: u64 significand, u16 sign | exponent' },
    // the MMIO reads the host answered for the instruction being run again (cpu/mmio-replay.ts)
    { name: 'mmioReads', core: 'MMIO_READS', size: 4, private: true, doc: 'entries in MMIO_LOG' },
    { name: 'mmioLog', core: 'MMIO_LOG', size: 96, private: true, doc: 'MMIO_LOG_MAX x { addr, size, data }' },
    // the MMIO writes waiting behind the one in the exit record (cpu/mmio-writes.ts)
    { name: 'mmioWrites', core: 'MMIO_WRITES', size: 4, private: true, doc: 'entries in MMIO_QUEUE' },
    { name: 'mmioQueue', core: 'MMIO_QUEUE', size: 84, private: true, doc: 'MMIO_QUEUE_MAX x { addr, size, data }' },
    { name: null, size: 4 },
    { name: 'pdpte', size: 32, doc: 'PAE: the 4 PDPTEs (u64 each) as the CPU caches them from CR3' },
    // SSE (cpu/sse.ts): present whatever the CPU model; only a model with FXSR/SSE reaches them
    { name: 'xmm', size: 128, doc: 'XMM0-7, 16 bytes each, low byte first' },
    { name: 'mxcsr', size: 4, doc: 'SSE control/status register (power-on 0x1F80)' },
    // while the lazy op is Inc or Dec: the lazy record CF comes from (INC and DEC leave CF
    // alone: they keep the record they replace here instead of computing its CF; cpu/flags.ts)
    { name: 'cfOp', size: 4, doc: 'its LazyOp; None (0): CF is EFLAGS bit 0' },
    { name: 'cfSize', size: 4 },
    { name: 'cfA', size: 4 },
    { name: 'cfB', size: 4 },
    { name: 'cfR', size: 4 },
    { name: null, size: 360 },
  ],
};

/** One segment cache; the state holds 8 from S_SEG (SegReg order). */
export const seg = {
  prefix: 'SEG_', host: 'Seg', size: 32, sizeName: 'SEG_SIZE',
  fields: [
    { name: 'selector', size: 4 },
    { name: 'base', size: 4 },
    { name: 'limit', size: 4, doc: 'byte-granular (already scaled by G)' },
    { name: 'attr', size: 4, doc: 'descriptor access byte | flags nibble << 8 (bit 14 D/B, 15 G)' },
    { name: 'lo', size: 4, doc: 'derived: lowest valid offset' },
    { name: 'hi', size: 4, doc: 'derived: highest valid offset' },
    { name: 'rights', size: 4, doc: 'derived: SegRight bits' },
    { name: null, size: 4 },
  ],
};

/** One CPUID table: what CPUID answers for one vCPU, set by the host (as KVM_SET_CPUID2). */
export const cpuidTable = {
  prefix: 'CPUID_', host: 'CpuidTable', size: 0x400, sizeName: 'CPUID_TABLE_SIZE',
  fields: [
    { name: 'count', size: 4, doc: 'entries in use' },
    { name: null, size: 28 },
    { name: 'entries', size: 31 * 32, doc: 'CPUID_MAX_ENTRIES x CpuidEntry' },
  ],
};

/** One CPUID table entry. */
export const cpuidEntry = {
  prefix: 'CPUID_E_', host: 'CpuidEntry', size: 32, sizeName: 'CPUID_ENTRY_SIZE',
  fields: [
    { name: 'leaf', size: 4 },
    { name: 'index', size: 4, doc: 'the subleaf (ECX), when CpuidFlag.Indexed' },
    { name: 'flags', size: 4 },
    { name: 'eax', size: 4 },
    { name: 'ebx', size: 4 },
    { name: 'ecx', size: 4 },
    { name: 'edx', size: 4 },
    { name: null, size: 4 },
  ],
};

export const records = { exit, state, seg, cpuidTable, cpuidEntry };

/**
 * Constants both sides know (name, value, doc). Absolute ones are offsets in
 * the core's memory. `private` ones only the core sees.
 */
export const constants = [
  ['IO_BUFFER', 0x2000, 'string I/O data (rep ins/outs) travels through this buffer'],
  ['IO_BUFFER_SIZE', 0x1000],
  ['MSR_ASK', 2, 'EXIT_MSR_DIR bit: a policy\'s MSR filter asks whether the guest may use the MSR'],
  ['CPUID_CONTROL', 0xA000, '1: every CPUID exits to the host instead of reading the table'],
  ['CPUID_TABLE', 0xA020, "vCPU v's table is at CPUID_TABLE + v * CPUID_TABLE_SIZE"],
  ['CPUID_MAX_ENTRIES', 31],
  ['ACTIVE', 0x3000, "the running vCPU's state", true],
  ['VCPU_SLOTS', 0x4000, 'parked vCPU states, VCPU_STATE_SIZE each', true],
  ['MAX_VCPUS', 16],
  ['MXCSR_POWER_ON', 0x1F80, 'MXCSR at RESET: every SIMD floating-point exception masked, round to nearest'],
  ['FPU_REG_SIZE', 16, 'bytes between two x87 registers from S_FPU_REGS'],
  ['MMIO_LOG_MAX', 8, 'MMIO reads one instruction may do', true],
  // the JIT's function table (src/core/jit.ts sizes it): the core's own entries, then the regions'
  ['BLOCK_COUNT', 6656, 'block-cache slots, up to 0xEE8000 below the static data at 15 MiB; not a power of 2 (run.ts blockSlot)'],
  ['JIT_TABLE_BASE', 2048, "function-table index of the first region (below it: the core's own entries: the interpreter's handlers, cpu/dispatch.generated.ts)"],
  ['JIT_REGIONS', 6656 + 8192 + 64 * (1 + 4), 'table entries for regions: one per block-cache slot, per remembered block (JIT_GHOSTS) and per region queued or compiling (JIT_QUEUE_MAX x (1 + JIT_COMPILING_MAX))'],
  ['JIT_COMPILING_MAX', 4, 'batches the host may compile off the main thread at once (jit/tier.ts jitFlush)'],
  ['JIT_LINKS', 0x1B01808, 'the regions of earlier modules that the module jitCompile gets imports, to call them directly: JIT_LINK_MAX table indices (u32), 0 = none (jit/tier.ts resolveLinks)'],
  ['JIT_LINK_MAX', 16],
  ['MMIO_QUEUE_MAX', 7, 'MMIO writes queued behind the one in the exit record', true],
  ['RAM_BASE', 0x2000000, 'guest-physical address p is at RAM_BASE + p in the core\'s memory'],
];

/**
 * Enums both sides share. `names`: the host also gets NAME_NAMES, the kebab
 * names by value (values must then run 0, 1, 2, ...).
 */
export const enums = {
  ExitReason: {
    doc: 'Why `enter` returned (Exit.reason).',
    names: 'EXIT_REASON_NAMES',
    values: [
      ['None', 0, 'none'],
      ['Io', 1, 'io', 'IN/OUT/INS/OUTS'],
      ['Mmio', 2, 'mmio', 'access to guest-physical memory outside RAM'],
      ['Hlt', 3, 'hlt', 'HLT executed; the vCPU waits for an interrupt'],
      ['Shutdown', 4, 'shutdown', 'triple fault'],
      ['Budget', 5, 'budget', 'instruction budget spent (preemption)'],
      ['Cpuid', 6, 'cpuid', "CPUID, answered by the host's policy"],
      ['Msr', 7, 'msr', 'RDMSR/WRMSR the core does not know, or a filter asks'],
      ['Error', 8, 'error', 'the core cannot continue (unsupported situation); detail says why'],
      ['FpuError', 9, 'fpu-error', 'FERR#: an unmasked x87 exception with CR0.NE = 0 (a PC raises IRQ 13)'],
      ['IrqWindow', 10, 'irq-window', 'the guest can take an external interrupt now (S_IRQ_WINDOW asked for it)'],
      ['Pause', 11, 'pause', 'PAUSE with S_PAUSE_EXIT: the guest spins, waiting for another vCPU'],
    ],
  },
  DetailFlag: {
    doc: 'EXIT_DETAIL_FLAGS bits.',
    values: [
      ['Unimplemented', 1, 'the #UD came from an opcode the core does not implement'],
      ['HasOpcode', 2, 'EXIT_DETAIL_OPCODE is valid'],
    ],
  },
  ErrorCode: {
    doc: 'Codes in EXIT_DETAIL_ERROR for ExitReason.Error; the host shows the message.',
    messages: 'ERROR_MESSAGES',
    values: [
      ['MmioWrites', 1, 'one instruction wrote MMIO more than 8 times (not supported)'],
      ['PhysAbove4G', 3, 'a PAE page-table entry points above 4 GiB of physical memory (not supported)'],
      ['MmioReads', 4, 'one instruction read MMIO more than 8 times (not supported)'],
      ['CodeFromMmio', 102, 'executing code from MMIO (outside RAM) is not supported'],
    ],
  },
  Counter: {
    doc: 'Per-vCPU counters (u64 each) from S_COUNTERS, by index.',
    names: 'COUNTER_NAMES', camelNames: true,
    values: [
      ['ShadowFills', 0, 'soft-TLB misses that filled an entry'],
      ['GuestWalks', 1, "walks of the guest's page tables"],
      ['GuestPageFaults', 2, '#PF injected into the guest'],
      ['PtWriteTraps', 3, 'guest writes to its own page tables that trapped'],
      ['FlushCr3', 4, 'TLB flushes by a CR3 write'],
      ['FlushInvlpg', 5, 'single-page flushes by INVLPG'],
      ['FlushCr0Cr4', 6, 'flushes by paging-related CR0/CR4 changes'],
      ['FlushFull', 7, 'every full flush, whatever the cause'],
      ['CodeInvalidations', 8, 'pages of decoded code dropped because they were written'],
      ['BlocksDecoded', 9, 'blocks decoded into the block cache'],
      ['Exceptions', 10, 'exceptions delivered to the guest'],
      ['Interrupts', 11, 'external interrupts delivered'],
      ['PtWriteDrops', 12, 'shadow entries dropped because the guest wrote the entry they came from'],
      ['GlobalsKept', 13, 'global shadow entries kept across CR3 reloads (CR4.PGE)'],
      ['PairsFused', 14, 'flag setters and the Jcc after them decoded as one case of the run loop'],
      ['JumpsOver', 15, 'Jccs over one quiet instruction, decoded to run it either way and keep or drop its result'],
    ],
  },
  CpuidFlag: { doc: 'CPUID_E_FLAGS bits.', values: [['Indexed', 1, 'the entry answers only for its subleaf']] },
  SegReg: { doc: 'Segment caches from S_SEG, in this order.', values: [['Es', 0], ['Cs', 1], ['Ss', 2], ['Ds', 3], ['Fs', 4], ['Gs', 5], ['Ldtr', 6], ['Tr', 7]] },
  TraceKind: {
    doc: 'traceEvent kinds of the trace build (assembly/trace.ts).',
    values: [
      ['Insn', 1, 'linear address, length, 1 = 32-bit code (before it executes)'],
      ['Interrupt', 2, 'vector, EIP it returns to, 0 (an injected interrupt taken)'],
      ['Exception', 3, 'vector, error code, 1 = has an error code (a fault delivered)'],
    ],
  },
  MmuEvent: {
    doc: 'mmuEvent kinds (low 4 bits; the cause is << 4), assembly/mmu/trace.ts.',
    values: [['Fill', 1], ['Fault', 2], ['Drop', 3], ['Flush', 4], ['CodeWrite', 5]],
  },
  DropCause: { doc: 'Cause of an MmuEvent.Drop.', values: [['Invlpg', 1], ['PtWrite', 2]] },
  FlushCause: { doc: 'Cause of an MmuEvent.Flush.', values: [['Cr3', 1], ['Control', 2], ['Full', 3]] },
  ShadowWrite: { doc: "Bits added to a Fill event's shadow entry: how writes are handled.", values: [['Direct', 4], ['Trapped', 8]] },
};

/**
 * The core's own tables (the host never reads them): where each lives in the
 * core's memory. AssemblyScript's static data starts at --memoryBase
 * (asconfig.json: 15 MiB), below SLOT_PTE.
 */
export const coreMemory = [
  // Soft TLB: one u32 per linear page; host address of the page | TlbBit flags.
  ['TLB_READ', 0x100000, '4 MiB'],
  ['TLB_WRITE', 0x500000, '4 MiB: pages writable without a trap'],
  ['TLB_LIST', 0x900000, 'linear pages with a live TLB entry, so a flush touches only those'],
  ['TLB_LIST_MAX', 0x10000, 'entries (u32 each): 256 KiB'],
  ['PAGE_INFO', 0x940000, 'PageInfo per guest-physical page (4 bytes), up to 2 GiB of RAM: 2 MiB'],
  ['MAX_RAM_PAGES', 0x80000],
  // decoded blocks (the decode-once cache)
  ['BLOCKS', 0xB40000],
  ['BLOCK_MAX_INSNS', 16],
  ['RECORD_SIZE', 32],
  ['BLOCK_HEADER', 64],
  ['BLOCK_SIZE', 64 + 16 * 32, 'BLOCK_HEADER + BLOCK_MAX_INSNS * RECORD_SIZE'],
  // shadow bookkeeping (mmu/shadow.ts): where each linear page's shadow entry came from
  ['SLOT_PTE', 0x1000000, 'guest-phys of the last-level entry | flags: 4 MiB'],
  ['SLOT_PDE', 0x1400000, 'guest-phys of the PDE | flags: 4 MiB'],
  ['FRAME_DIR', 0x1800000, 'u16 per guest page: 1 + the directory index whose PDE points at it, FRAME_DIR_MANY, 0 = none: 1 MiB'],
  ['FRAME_DIR_MANY', 0xFFFF],
  ['TABLE_LIST', 0x1900000, 'frames marked PageTable/PageDir (each at most once), u32 per RAM page: 2 MiB'],
  ['REGION_BIG', 0x1B00000, 'u8 per 4 MiB linear region: 1 when a live shadow entry maps part of a 4 MiB page'],
  // the JIT (assembly/jit/): regions waiting to be compiled, their bodies, the module the host compiles
  ['JIT_QUEUE', 0x1B01000, 'JIT_QUEUE_MAX x 32 bytes'],
  ['JIT_QUEUE_MAX', 64],
  ['JIT_DONE', 0x1B02000, 'the queue entries of a batch compiled off the main thread, written back by env.jitCollect: JIT_QUEUE_MAX x 32 bytes'],
  ['JIT_STOP', 0x1B01800, 'the block whose region stopped before one of its records (jit/tier.ts jitRun reads it)'],
  ['JIT_CHAIN', 0x1B01804, 'the region a finished region asks jitRun to run next (its B_JIT word), 0 = none'],
  ['JIT_SEGS', 0x1B01848, 'bit s: segment s passed a region\'s entry guard since jitRun entered the first region (jit/region.ts guardCode)'],
  ['JIT_GHOSTS', 0x1B10000, 'blocks evicted from the block cache, remembered with their hits and region: JIT_GHOST_COUNT x 32 bytes'],
  ['JIT_GHOST_COUNT', 8192, 'in sets of 2'],
  ['JIT_FREE', 0x1B50000, 'free region table indices (u32 each), up to JIT_REGIONS'],
  ['JIT_BODIES', 0x1C00000, '1 MiB of function bodies'],
  ['JIT_BODIES_SIZE', 0x100000],
  ['JIT_MODULE', 0x1D00000, 'the module: header, then the bodies (up to 2 MiB)'],
  ['JIT_MODULE_SIZE', 0x200000],
];

/** The core's own enums (flags and states it keeps in its tables). */
export const coreEnums = {
  PendingIo: { values: [['None', 0], ['In', 1], ['Ins', 2]] },
  NmiBit: { values: [['Pending', 1], ['Blocked', 2]] },
  SegRight: { values: [['Read', 1], ['Write', 2], ['Usable', 4], ['Code', 8], ['Flat', 16]] },
  TlbBit: { values: [['Super', 1], ['User', 2]] },
  PageInfo: {
    values: [
      ['Code', 0x80000000, 'decoded blocks come from this frame: writes trap and invalidate them'],
      ['PageTable', 0x40000000, 'holds PTEs that live shadow entries came from: writes trap'],
      ['PageDir', 0x20000000, 'holds PDEs that live shadow entries came from: writes trap'],
      ['Generation', 0x1FFFFFFF, 'low bits: generation of its decoded code'],
    ],
  },
};
