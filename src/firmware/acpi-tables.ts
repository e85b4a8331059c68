// ACPI 1.0 tables for the PC, built from the machine's configuration: the RSDP
// (found by the 16-byte-aligned scan of 0xE0000-0xFFFFF), the RSDT listing the
// others, the FADT (fixed-hardware ports: PM1a event/control and the PM timer;
// SCI on IRQ 9; no SMI port, so the machine is always in ACPI mode), the FACS,
// an empty DSDT (no AML: no devices to enumerate, no sleep states), the MADT
// (a local APIC per vCPU, the I/O APIC, the IRQ 0 -> input 2 override, the SCI
// level/high, NMI on LINT1) and the HPET table. Each has a correct checksum.

export interface AcpiConfig {
  cpus: number;
  localApicAddress: number;
  ioApicId: number;
  ioApicAddress: number;
  /** ISA IRQ -> I/O APIC input (IRQ 0 arrives on INTIN 2 on a PC). */
  isaIrqToPin: (irq: number) => number;
  pm1EvtBlk: number;
  pm1CntBlk: number;
  pmTmrBlk: number;
  sciIrq: number;
  hpetAddress: number;
  /** The HPET's general capabilities, low dword (the table's event timer block ID). */
  hpetBlockId: number;
}

const OEM_ID = 'TRAPEZ';
const OEM_TABLE_ID = 'TRAPEZE ';
const CREATOR = 'TRPZ';
const HEADER = 36;

// FADT flags (ACPI 1.0 5.2.5): WBINVD works, C1 supported, power and sleep buttons are not fixed features
const FADT_FLAGS = (1 << 0) | (1 << 2) | (1 << 4) | (1 << 5);
/** MADT interrupt source override flags: active high (01b), level (11b << 2). */
const ISO_LEVEL_HIGH = 0x000d;

/** The tables for address `at` (16-byte aligned, in 0xE0000-0xFFFFF): the RSDP comes first. */
export function buildAcpiTables(at: number, c: AcpiConfig): Uint8Array {
  if (at % 16 || at < 0xe0000 || at >= 0x100000) throw new Error(`ACPI tables: the RSDP at ${at.toString(16)} would not be found by the scan`);
  const out = new Uint8Array(0x1000);
  let next = 0x40; // after the RSDP
  const place = (bytes: Uint8Array, align = 16): number => {
    next = Math.ceil(next / align) * align;
    const addr = at + next;
    out.set(bytes, next);
    next += bytes.length;
    return addr;
  };

  const facs = place(facsTable(), 64);
  const dsdt = place(table('DSDT', 1, []));
  const fadt = place(fadtTable(c, facs, dsdt));
  const madt = place(madtTable(c));
  const hpet = place(hpetTable(c));
  const rsdt = place(table('RSDT', 1, [fadt, madt, hpet].flatMap(u32)));
  out.set(rsdp(rsdt), 0);
  return out.subarray(0, next);
}

function rsdp(rsdt: number): Uint8Array {
  const b = new Uint8Array([...ascii('RSD PTR '), 0, ...ascii(OEM_ID), 0, ...u32(rsdt)]);
  b[8] = checksum(b);
  return b;
}

/** A system description table: the 36-byte header, then `body`, with its checksum. */
function table(signature: string, revision: number, body: number[]): Uint8Array {
  const b = new Uint8Array(HEADER + body.length);
  b.set([...ascii(signature), ...u32(b.length), revision, 0, ...ascii(OEM_ID), ...ascii(OEM_TABLE_ID), ...u32(1), ...ascii(CREATOR), ...u32(1)]);
  b.set(body, HEADER);
  b[9] = checksum(b);
  return b;
}

function fadtTable(c: AcpiConfig, facs: number, dsdt: number): Uint8Array {
  const body = new Uint8Array(116 - HEADER);
  const v = new DataView(body.buffer);
  const put32 = (offset: number, x: number) => v.setUint32(offset - HEADER, x, true);
  put32(36, facs);
  put32(40, dsdt);
  v.setUint16(46 - HEADER, c.sciIrq, true);
  // SMI_CMD (48) = 0: no SMI command port, ACPI mode only
  put32(56, c.pm1EvtBlk);
  put32(64, c.pm1CntBlk);
  put32(76, c.pmTmrBlk);
  body[88 - HEADER] = 4; // PM1_EVT_LEN
  body[89 - HEADER] = 2; // PM1_CNT_LEN
  body[91 - HEADER] = 4; // PM_TMR_LEN
  v.setUint16(96 - HEADER, 101, true); // P_LVL2_LAT > 100: no C2
  v.setUint16(98 - HEADER, 1001, true); // P_LVL3_LAT > 1000: no C3
  put32(112, FADT_FLAGS);
  return table('FACP', 1, [...body]);
}

/** FACS (ACPI 1.0 5.2.6): 64 bytes, no checksum; no waking vector, no global lock owner. */
function facsTable(): Uint8Array {
  const b = new Uint8Array(64);
  b.set([...ascii('FACS'), ...u32(64)]);
  return b;
}

function madtTable(c: AcpiConfig): Uint8Array {
  const body: number[] = [...u32(c.localApicAddress), ...u32(1)]; // PCAT_COMPAT: there are 8259s
  for (let i = 0; i < c.cpus; i++) body.push(0, 8, i, i, ...u32(1)); // processor i, APIC ID i, enabled
  body.push(1, 12, c.ioApicId, 0, ...u32(c.ioApicAddress), ...u32(0));
  if (c.isaIrqToPin(0) !== 0) body.push(2, 10, 0, 0, ...u32(c.isaIrqToPin(0)), 0, 0);
  body.push(2, 10, 0, c.sciIrq, ...u32(c.isaIrqToPin(c.sciIrq)), ...u16(ISO_LEVEL_HIGH));
  body.push(4, 6, 0xff, 0, 0, 1); // NMI on LINT1 of every processor
  return table('APIC', 1, body);
}

function hpetTable(c: AcpiConfig): Uint8Array {
  // event timer block ID, then the base address as a generic address (memory space, 64 bits wide)
  const body = [...u32(c.hpetBlockId), 0, 64, 0, 0, ...u32(c.hpetAddress), ...u32(0), 0, ...u16(0), 0];
  return table('HPET', 1, body);
}

/** The byte that makes `b` sum to 0 (mod 256), given that its checksum field is 0 now. */
function checksum(b: Uint8Array): number {
  let sum = 0;
  for (const x of b) sum += x;
  return (256 - (sum & 0xff)) & 0xff;
}

function ascii(s: string): number[] { return [...s].map((ch) => ch.charCodeAt(0)); }
function u16(v: number): number[] { return [v & 0xff, (v >>> 8) & 0xff]; }
function u32(v: number): number[] { return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]; }
