// ACPI tables (parsed back from guest memory as an OS finds them), the ACPI PM
// timer and the HPET, on the virtual clock.
import { describe, it, expect } from 'vitest';
import { Pc } from '../src/platform/pc.js';
import { Hpet, HPET_BASE } from '../src/devices/hpet.js';
import { PM_TMR_BLK, PM1_CNT_BLK } from '../src/devices/acpi-pm.js';
import { Clock, NS_PER_INSTRUCTION } from '../src/platform/clock.js';
import { LAPIC_BASE } from '../src/devices/local-apic.js';
import { IOAPIC_BASE } from '../src/devices/io-apic.js';

function advance(clock: Clock, ns: number): void {
  let left = Math.round(ns / NS_PER_INSTRUCTION);
  while (left > 0) {
    const n = Math.min(left, clock.instructionsUntilDeadline());
    clock.retired(n);
    left -= n;
  }
}

const sum = (b: Uint8Array) => b.reduce((a, x) => (a + x) & 0xff, 0);
const text = (b: Uint8Array) => String.fromCharCode(...b);

/** Find and check the tables as an OS does: the RSDP scan, the RSDT's entries, each checksum. */
function readAcpi(pc: Pc) {
  const read = (addr: number, n: number) => pc.vm.readPhys(addr, n);
  let rsdpAt = -1;
  for (let a = 0xe0000; a < 0x100000 && rsdpAt < 0; a += 16) if (text(read(a, 8)) === 'RSD PTR ') rsdpAt = a;
  expect(rsdpAt).toBeGreaterThanOrEqual(0);
  const rsdp = read(rsdpAt, 20);
  expect(sum(rsdp)).toBe(0);
  const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  const tableAt = (addr: number) => {
    const len = dv(read(addr + 4, 4)).getUint32(0, true);
    const t = read(addr, len);
    expect(sum(t), `checksum of ${text(t.subarray(0, 4))}`).toBe(0);
    return t;
  };
  const rsdt = tableAt(dv(rsdp).getUint32(16, true));
  expect(text(rsdt.subarray(0, 4))).toBe('RSDT');
  const tables = new Map<string, Uint8Array>();
  for (let o = 36; o < rsdt.length; o += 4) {
    const t = tableAt(dv(rsdt).getUint32(o, true));
    tables.set(text(t.subarray(0, 4)), t);
  }
  return { tables, dv, tableAt, read };
}

describe('ACPI tables', () => {
  it('are found by the RSDP scan, sum to zero, and describe this machine (3 vCPUs)', () => {
    const pc = new Pc({ memoryMiB: 16, vcpus: 3 });
    pc.bios.setup();
    const { tables, dv, tableAt, read } = readAcpi(pc);
    expect([...tables.keys()].sort()).toEqual(['APIC', 'FACP', 'HPET']);

    const fadt = dv(tables.get('FACP')!);
    expect(fadt.getUint32(76, true)).toBe(PM_TMR_BLK);
    expect(fadt.getUint8(91)).toBe(4);
    expect(text(tableAt(fadt.getUint32(40, true)).subarray(0, 4))).toBe('DSDT');
    expect(text(read(fadt.getUint32(36, true), 4))).toBe('FACS');

    const madt = tables.get('APIC')!;
    expect(dv(madt).getUint32(36, true)).toBe(LAPIC_BASE);
    const cpus: number[] = [];
    let ioapic = 0;
    const overrides: [number, number, number][] = [];
    for (let o = 44; o < madt.length; o += madt[o + 1]) {
      if (madt[o] === 0) cpus.push(madt[o + 3]);
      if (madt[o] === 1) ioapic = dv(madt).getUint32(o + 4, true);
      if (madt[o] === 2) overrides.push([madt[o + 3], dv(madt).getUint32(o + 4, true), dv(madt).getUint16(o + 8, true)]);
    }
    expect(cpus).toEqual([0, 1, 2]);
    expect(ioapic).toBe(IOAPIC_BASE);
    expect(overrides).toEqual([[0, 2, 0], [9, 9, 0xd]]);

    const hpet = dv(tables.get('HPET')!);
    expect(hpet.getUint32(44, true)).toBe(HPET_BASE);
    expect(hpet.getUint32(36, true)).toBe(pc.hpet.read(0, 4));
  });

  it('the PM timer counts at 3.579545 MHz, 24 bits, and PM1_CNT says ACPI mode', () => {
    const pc = new Pc({ memoryMiB: 16 });
    const t0 = pc.vm.ports.read(PM_TMR_BLK, 4);
    advance(pc.clock, 1e6); // 1 ms
    expect(pc.vm.ports.read(PM_TMR_BLK, 4) - t0).toBe(3579);
    advance(pc.clock, 5e9); // past 2^24 ticks (4.69 s): it wraps
    expect(pc.vm.ports.read(PM_TMR_BLK, 4)).toBe(Math.floor(5.001 * 3_579_545) & 0xffffff);
    expect(pc.vm.ports.read(PM1_CNT_BLK, 2) & 1).toBe(1);
  });
});

describe('HPET', () => {
  function hpet() {
    const clock = new Clock();
    const lines: string[] = [];
    const h = new Hpet(clock, { isa: (irq, level) => lines.push(`irq${irq}=${+level}`), gsi: (pin, level) => lines.push(`gsi${pin}=${+level}`) });
    const w = (off: number, v: number) => h.write(off, 4, v);
    return { clock, h, w, lines };
  }

  it('reports its period and counts at 100 MHz only while enabled; the counter is writable while halted', () => {
    const { clock, h, w } = hpet();
    expect(h.read(4, 4)).toBe(10_000_000); // fs
    expect(h.read(0, 4) & 0x1f00).toBe(2 << 8); // three timers
    advance(clock, 1000);
    expect(h.read(0xf0, 4)).toBe(0);
    w(0xf0, 0xfffffff0); w(0xf4, 1);
    w(0x10, 1);
    advance(clock, 1000); // 100 ticks: carries into the high half
    expect([h.read(0xf0, 4), h.read(0xf4, 4)]).toEqual([0x54, 2]);
    w(0xf0, 0); // ignored while running
    w(0x10, 0);
    advance(clock, 1000);
    expect(h.read(0xf0, 4)).toBe(0x54);
  });

  it('a one-shot timer interrupts once on its route when the counter reaches the comparator', () => {
    const { clock, w, lines } = hpet();
    w(0x100, (1 << 2) | (20 << 9)); // interrupt enabled, edge, route 20
    w(0x108, 500); w(0x10c, 0);
    w(0x10, 1);
    advance(clock, 4990);
    expect(lines).toEqual([]);
    advance(clock, 10);
    expect(lines).toEqual(['gsi20=1', 'gsi20=0']);
    advance(clock, 100_000);
    expect(lines.length).toBe(2);
  });

  it('legacy replacement: a periodic timer 0 drives IRQ 0 every period', () => {
    const { clock, w, lines } = hpet();
    w(0x100, (1 << 2) | (1 << 3) | (1 << 6)); // enabled, periodic, VAL_SET
    w(0x108, 1000); w(0x10c, 0); // comparator and period: 10 us
    w(0x10, 3); // enable + legacy
    advance(clock, 35_000);
    expect(lines).toEqual(Array(3).fill(['irq0=1', 'irq0=0']).flat());
  });

  it('level mode holds the line and sets the status bit until software writes 1 to it', () => {
    const { clock, h, w, lines } = hpet();
    w(0x120, (1 << 1) | (1 << 2) | (21 << 9)); // timer 1: level, enabled, route 21
    w(0x128, 100); w(0x12c, 0);
    w(0x10, 1);
    advance(clock, 1000);
    expect(lines).toEqual(['gsi21=1']);
    expect(h.read(0x20, 4)).toBe(2);
    w(0x20, 1); // another timer's bit: nothing
    expect(h.read(0x20, 4)).toBe(2);
    w(0x20, 2);
    expect([h.read(0x20, 4), lines]).toEqual([0, ['gsi21=1', 'gsi21=0']]);
  });

  it('a 32-bit timer matches the low half of the counter', () => {
    const { clock, h, w, lines } = hpet();
    w(0xf0, 0xffffff00); w(0xf4, 5); // counter 5_FFFFFF00
    w(0x140, (1 << 2) | (1 << 8) | (22 << 9)); // timer 2: 32-bit mode, route 22
    w(0x148, 0x10);
    expect(h.read(0x14c, 4)).toBe(0);
    w(0x10, 1);
    advance(clock, 0x110 * 10 - 10);
    expect(lines).toEqual([]);
    advance(clock, 10);
    expect(lines).toEqual(['gsi22=1', 'gsi22=0']);
  });

  it('the PC maps it at 0xFED00000 and saves it in a snapshot part of its own', () => {
    const pc = new Pc({ memoryMiB: 16 });
    expect(pc.snapshotParts().hpet).toBe(pc.hpet);
    pc.hpet.write(0x10, 4, 1);
    advance(pc.clock, 1000);
    expect(pc.vm.mmio.read(HPET_BASE + 0xf0, 4)).toBe(100);
  });
});
