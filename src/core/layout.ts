// The host's mirror of assembly/layout.ts: where the core keeps the exit record
// and the vCPU state. test/layout.test.ts checks every field against the core.

/** Exit record fields: absolute offsets in the core's memory. */
export const Exit = {
  reason: 0x1000,
  retired: 0x1004,
  ioDir: 0x1008,
  ioSize: 0x100c,
  ioPort: 0x1010,
  ioCount: 0x1014,
  ioData: 0x1018,
  mmioAddr: 0x101c,
  mmioSize: 0x1020,
  mmioDir: 0x1024,
  mmioData: 0x1028,
  cpuidLeaf: 0x102c,
  cpuidSubleaf: 0x1030,
  msrIndex: 0x1034,
  msrDir: 0x1038,
  msrLo: 0x103c,
  msrHi: 0x1040,
  detailVector: 0x1044,
  detailError: 0x1048,
  detailEip: 0x104c,
  detailOpcode: 0x1050,
  detailFlags: 0x1054,
  insnEip: 0x1058,
} as const;

/** String I/O data travels through this buffer. */
export const IO_BUFFER = 0x2000;
/** Exit.msrDir bit: a policy's MSR filter asks whether the guest may use the MSR. */
export const MSR_ASK = 2;
export const IO_BUFFER_SIZE = 0x1000;

/**
 * The CPUID table the core answers CPUID from (as KVM_SET_CPUID2 sets it): one
 * per vCPU at table + v * tableSize, `count` entries from `entries`. control = 1
 * makes every CPUID exit to the host instead.
 */
export const Cpuid = {
  control: 0x8000,
  table: 0x8020,
  tableSize: 0x400,
  count: 0,
  entries: 32,
  entrySize: 32,
  maxEntries: 31,
} as const;
/** Fields of one CPUID table entry. */
export const CpuidEntry = { leaf: 0, index: 4, flags: 8, eax: 12, ebx: 16, ecx: 20, edx: 24 } as const;
/** CpuidEntry.flags bits: indexed = the entry answers only for its subleaf (ECX). */
export const CpuidFlag = { indexed: 1 } as const;

/** vCPU state fields: offsets inside a vCPU state block (see core.stateOffset). */
export const State = {
  gpr: 0,
  eip: 32,
  eflags: 36,
  lazyOp: 40,
  lazySize: 44,
  lazyA: 48,
  lazyB: 52,
  lazyR: 56,
  seg: 64,
  gdtrBase: 320,
  gdtrLimit: 324,
  idtrBase: 328,
  idtrLimit: 332,
  cr0: 336,
  cr2: 340,
  cr3: 344,
  cr4: 348,
  dr: 352,
  tsc: 384,
  instret: 392,
  halted: 400,
  shadow: 404,
  irq: 408,
  cpl: 412,
  pendingIo: 416,
  pendingDest: 420,
  mmioReplay: 424,
  a20Mask: 428,
  lastVector: 432,
  lastError: 436,
  lastEip: 440,
  lastOpcode: 444,
  lastFlags: 448,
  sysenterCs: 452,
  sysenterEsp: 456,
  sysenterEip: 460,
  apicBase: 464,
  pendingAttr: 472,
  msrFilter: 476,
  msrGrant: 480,
  nmi: 484,
  irqWindow: 488,
  pauseExit: 492,
  miscEnable: 496,
  pat: 504,
  pdpte: 992,
  counters: 512,
  fpuCw: 640,
  fpuSw: 644,
  fpuEmpty: 648,
  fpuFop: 652,
  fpuFip: 656,
  fpuFcs: 660,
  fpuFdp: 664,
  fpuFds: 668,
  fpuRegs: 672,
} as const;
/** Bytes between two x87 registers from State.fpuRegs (u64 significand, u16 sign|exponent). */
export const FPU_REG_SIZE = 16;
export const VCPU_STATE_SIZE = 0x400;

/** Fields of one segment cache (8 of them from State.seg, SEG_SIZE apart). */
export const Seg = {
  selector: 0,
  base: 4,
  limit: 8,
  attr: 12,
  lo: 16,
  hi: 20,
  rights: 24,
} as const;
export const SEG_SIZE = 32;
export const SegReg = { es: 0, cs: 1, ss: 2, ds: 3, fs: 4, gs: 5, ldtr: 6, tr: 7 } as const;

export const enum ExitReason {
  None = 0,
  Io = 1,
  Mmio = 2,
  Hlt = 3,
  Shutdown = 4,
  Budget = 5,
  Cpuid = 6,
  Msr = 7,
  Breakpoint = 8,
  Error = 9,
  FpuError = 10,
  IrqWindow = 11,
  Pause = 12,
}
export const EXIT_REASON_NAMES = ['none', 'io', 'mmio', 'hlt', 'shutdown', 'budget', 'cpuid', 'msr', 'breakpoint', 'error', 'fpu-error', 'irq-window', 'pause'] as const;
export type ExitReasonName = (typeof EXIT_REASON_NAMES)[number];

/** EXIT_DETAIL_FLAGS bits. */
export const DetailFlag = { unimplemented: 1, hasOpcode: 2 } as const;

/** Codes in Exit.detailError for ExitReason.Error. */
export const ERROR_MESSAGES: Record<number, string> = {
  1: 'one instruction wrote MMIO more than 8 times (not supported)',
  3: 'a PAE page-table entry points above 4 GiB of physical memory (not supported)',
  4: 'one instruction read MMIO more than 8 times (not supported)',
  102: 'executing code from MMIO (outside RAM) is not supported',
};

/** Per-vCPU counters (u64 each) from State.counters, in this order. */
export const COUNTER_NAMES = [
  'shadowFills', 'guestWalks', 'guestPageFaults', 'ptWriteTraps', 'flushCr3', 'flushInvlpg',
  'flushCr0Cr4', 'flushFull', 'codeInvalidations', 'blocksDecoded', 'exceptions', 'interrupts',
  'ptWriteDrops', 'globalsKept',
] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];

/** Guest RAM starts at this offset of the core's memory. */
export const RAM_BASE = 0x2000000;
export const MAX_VCPUS = 16;
