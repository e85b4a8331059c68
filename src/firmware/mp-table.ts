// Intel MultiProcessor Specification 1.4 tables: the floating pointer
// structure and the configuration table (one processor entry per vCPU, the
// ISA bus, one I/O APIC, its interrupt assignments, and the local interrupts
// LINT0 = ExtINT, LINT1 = NMI), each with a correct checksum.

export interface MpConfig {
  cpus: number;
  ioApicId: number;
  ioApicAddress: number;
  localApicAddress: number;
  /** ISA IRQ -> I/O APIC input (IRQ 0 arrives on INTIN 2 on a PC). */
  isaIrqToPin: (irq: number) => number;
  /** CPUID signature and feature flags to report. */
  signature: number;
  features: number;
}

const APIC_VERSION = 0x14;
const IOAPIC_VERSION = 0x11;

/** The floating pointer (16 bytes) and, right after it, the configuration table, for address `at`. */
export function buildMpTables(at: number, c: MpConfig): Uint8Array {
  const entries: number[][] = [];
  for (let i = 0; i < c.cpus; i++) {
    // processor: type 0, APIC ID, version, flags (enabled, bootstrap), signature, features
    entries.push([0, i, APIC_VERSION, 1 | (i === 0 ? 2 : 0), ...u32(c.signature), ...u32(c.features), ...new Array(8).fill(0)]);
  }
  entries.push([1, 0, ...ascii('ISA   ')]);
  entries.push([2, c.ioApicId, IOAPIC_VERSION, 1, ...u32(c.ioApicAddress)]);
  // I/O interrupts: the 8259's ExtINT on INTIN 0, then each ISA IRQ (flags 0: conforms to the bus)
  entries.push([3, 3, 0, 0, 0, 0, c.ioApicId, 0]);
  for (let irq = 0; irq < 16; irq++) {
    if (irq === 2) continue; // the cascade
    entries.push([3, 0, 0, 0, 0, irq, c.ioApicId, c.isaIrqToPin(irq)]);
  }
  // local interrupts to every local APIC (0xFF): ExtINT on LINT0, NMI on LINT1
  entries.push([4, 3, 0, 0, 0, 0, 0xff, 0]);
  entries.push([4, 1, 0, 0, 0, 0, 0xff, 1]);

  const body = entries.flat();
  const tableLength = 44 + body.length;
  const out = new Uint8Array(16 + tableLength);
  const table = at + 16;
  // floating pointer: "_MP_", table address, length in paragraphs, spec 1.4, checksum, features
  out.set([...ascii('_MP_'), ...u32(table), 1, 4, 0, 0, 0, 0, 0, 0], 0);
  out[10] = checksum(out.subarray(0, 16));
  // configuration table header
  const h = out.subarray(16);
  h.set([...ascii('PCMP'), tableLength & 0xff, tableLength >> 8, 4, 0, ...ascii('TRAPEZE '), ...ascii('PC PLATFORM '),
    0, 0, 0, 0, 0, 0, entries.length & 0xff, entries.length >> 8, ...u32(c.localApicAddress), 0, 0, 0, 0], 0);
  h.set(body, 44);
  h[7] = checksum(h.subarray(0, tableLength));
  return out;
}

function u32(v: number): number[] { return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]; }
function ascii(s: string): number[] { return [...s].map((ch) => ch.charCodeAt(0)); }
/** The byte that makes the sum of `bytes` zero (its own slot must hold 0). */
export function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (const b of bytes) sum = (sum + b) & 0xff;
  return (256 - sum) & 0xff;
}
