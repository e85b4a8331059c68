// The PC's devices, each programmed through its ports or MMIO registers as a
// guest would, on the virtual clock (time advanced by "retired" instructions).
import { describe, it, expect } from 'vitest';
import { PicPair } from '../src/devices/pic8259.js';
import { Pit8254, PIT_HZ } from '../src/devices/pit8254.js';
import { CmosRtc } from '../src/devices/cmos-rtc.js';
import { I8042 } from '../src/devices/i8042.js';
import { Cga } from '../src/devices/cga.js';
import { AtaChannel } from '../src/devices/ata.js';
import { LocalApic, type Ipi } from '../src/devices/local-apic.js';
import { IoApic, type IoApicMessage } from '../src/devices/io-apic.js';
import { PostCode } from '../src/devices/post-code.js';
import { DebugCon } from '../src/devices/debugcon.js';
import { FpuErrorLatch } from '../src/devices/fpu-error.js';
import { Clock, NS_PER_INSTRUCTION } from '../src/platform/clock.js';
import { buildMpTables } from '../src/firmware/mp-table.js';
import { pcMemoryMap } from '../src/firmware/memory-map.js';
import type { BlockDevice, BlockStatus } from '../src/storage/block-device.js';

/** Advance a virtual clock by `ns` as the VM does: instructions retire in runs that stop at each deadline. */
function advance(clock: Clock, ns: number): void {
  let left = Math.round(ns / NS_PER_INSTRUCTION);
  while (left > 0) {
    const n = Math.min(left, clock.instructionsUntilDeadline());
    clock.retired(n);
    left -= n;
  }
}

describe('8259A PIC pair', () => {
  function initialized() {
    const pic = new PicPair();
    const out = (p: number, v: number) => pic.write(p, 1, v);
    out(0x20, 0x11); out(0x21, 0x20); out(0x21, 0x04); out(0x21, 0x01);
    out(0xa0, 0x11); out(0xa1, 0x28); out(0xa1, 0x02); out(0xa1, 0x01);
    out(0x21, 0x00); out(0xa1, 0x00);
    return { pic, out, inp: (p: number) => pic.read(p, 1) };
  }

  it('latches an edge, acknowledges it at ICW2 + IR, and holds it in service until EOI', () => {
    const { pic, out, inp } = initialized();
    pic.setIrq(3, true);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x23);
    expect(pic.master.isr).toBe(1 << 3);
    out(0x20, 0x0b); // OCW3: read ISR
    expect(inp(0x20)).toBe(1 << 3);
    out(0x20, 0x20); // non-specific EOI
    expect(inp(0x20)).toBe(0);
    // the line is still high: no new edge, no new request
    expect(pic.hasInterrupt()).toBe(false);
  });

  it('serves by priority: IRQ 3 before 5, and 5 waits while 3 is in service', () => {
    const { pic, out } = initialized();
    pic.setIrq(5, true); pic.setIrq(3, true);
    expect(pic.acknowledge()).toBe(0x23);
    expect(pic.hasInterrupt()).toBe(false);
    out(0x20, 0x63); // specific EOI for IR3
    expect(pic.acknowledge()).toBe(0x25);
  });

  it('masks with OCW1 and reads the mask back', () => {
    const { pic, out, inp } = initialized();
    out(0x21, 0x10);
    expect(inp(0x21)).toBe(0x10);
    pic.setIrq(4, true);
    expect(pic.hasInterrupt()).toBe(false);
    out(0x21, 0x00);
    expect(pic.acknowledge()).toBe(0x24);
  });

  it('cascades the slave through master IR2', () => {
    const { pic } = initialized();
    pic.setIrq(9, true);
    expect(pic.acknowledge()).toBe(0x29);
    expect(pic.master.isr).toBe(1 << 2);
    expect(pic.slave.isr).toBe(1 << 1);
  });

  it('level mode (ELCR) keeps the request while the line is high; edge mode needs a new edge', () => {
    const { pic, out } = initialized();
    out(0x4d1, 0x08); // IRQ 11 level-triggered
    pic.setIrq(11, true);
    expect(pic.acknowledge()).toBe(0x2b);
    out(0xa0, 0x20); out(0x20, 0x20);
    expect(pic.hasInterrupt()).toBe(true); // still high
    pic.setIrq(11, false);
    expect(pic.hasInterrupt()).toBe(false);
    expect(pic.read(0x4d1, 1)).toBe(0x08);
  });

  it('answers a poll command with 0x80 | IR and acknowledges it', () => {
    const { pic, out, inp } = initialized();
    pic.setIrq(6, true);
    out(0x20, 0x0c); // OCW3 poll
    expect(inp(0x20)).toBe(0x86);
    expect(pic.master.isr).toBe(1 << 6);
    out(0x20, 0x0c);
    expect(inp(0x20)).toBe(0); // nothing left
  });

  it('a machine reset leaves both chips uninitialized', () => {
    const { pic, inp } = initialized();
    pic.setIrq(1, true);
    pic.acknowledge();
    pic.reset();
    expect([pic.master.isr, pic.master.irr, inp(0x21), pic.master.vectorBase, pic.slave.vectorBase]).toEqual([0, 0, 0, 0, 0]);
  });

  it('gives IR7 for a spurious acknowledge', () => {
    const { pic } = initialized();
    expect(pic.acknowledge()).toBe(0x27);
    expect(pic.master.isr).toBe(0);
  });
});

describe('8254 PIT', () => {
  function pit() {
    const clock = new Clock('virtual');
    const edges: number[] = [];
    const p = new Pit8254(clock, (level) => { if (level) edges.push(clock.now()); });
    return { clock, p, edges, out: (port: number, v: number) => p.write(port, 1, v), inp: (port: number) => p.read(port, 1) };
  }
  const tickNs = 1e9 / PIT_HZ;

  it('counts down in mode 2 and raises IRQ 0 once per period', () => {
    const { clock, out, edges, inp } = pit();
    out(0x43, 0x34); out(0x40, 1000 & 0xff); out(0x40, 1000 >> 8);
    advance(clock, 100 * tickNs);
    out(0x43, 0x00); // latch counter 0
    const count = inp(0x40) | (inp(0x40) << 8);
    expect(count).toBeGreaterThan(895);
    expect(count).toBeLessThanOrEqual(901);
    advance(clock, 5000 * tickNs);
    expect(edges.length).toBe(5);
  });

  it('mode 0 raises OUT (status bit 7) and IRQ 0 once at terminal count', () => {
    const { clock, out, edges, inp } = pit();
    out(0x43, 0x30); out(0x40, 100); out(0x40, 0);
    out(0x43, 0xe2); // read-back: status of counter 0
    expect(inp(0x40) & 0x80).toBe(0);
    advance(clock, 150 * tickNs);
    out(0x43, 0xe2);
    const status = inp(0x40);
    expect(status & 0x80).toBe(0x80);
    expect((status >> 1) & 7).toBe(0); // mode 0
    expect((status >> 4) & 3).toBe(3); // LSB then MSB
    advance(clock, 100_000 * tickNs);
    expect(edges.length).toBe(1);
  });

  it('a latched count stays until read, whatever the time', () => {
    const { clock, out, inp } = pit();
    out(0x43, 0x34); out(0x40, 0); out(0x40, 0x80); // 0x8000
    advance(clock, 10 * tickNs);
    out(0x43, 0x00);
    advance(clock, 1000 * tickNs);
    const latched = inp(0x40) | (inp(0x40) << 8);
    expect(latched).toBeGreaterThan(0x8000 - 12);
    const live = inp(0x40) | (inp(0x40) << 8);
    expect(live).toBeLessThan(latched - 900);
  });

  it('a machine reset stops every counter and IRQ 0', () => {
    const { clock, p, out, edges } = pit();
    out(0x43, 0x34); out(0x40, 100); out(0x40, 0);
    p.reset();
    advance(clock, 10_000 * tickNs);
    expect(edges).toHaveLength(0);
  });

  it('counts in BCD when asked', () => {
    const { clock, out, inp } = pit();
    out(0x43, 0x35); out(0x40, 0x00); out(0x40, 0x10); // 1000 in BCD
    advance(clock, 1 * tickNs);
    out(0x43, 0x00);
    const v = inp(0x40) | (inp(0x40) << 8);
    expect(v).toBe(0x0999);
  });

  it('counter 2 runs only while its gate (port 61h bit 0) is high, OUT on bit 5', () => {
    const { clock, out, inp } = pit();
    out(0x43, 0xb0); out(0x42, 50); out(0x42, 0); // counter 2, mode 0
    advance(clock, 100 * tickNs);
    expect(inp(0x61) & 0x20).toBe(0); // gate low: no counting
    out(0x61, 0x01);
    advance(clock, 100 * tickNs);
    expect(inp(0x61) & 0x20).toBe(0x20);
  });
});

describe('CMOS/RTC', () => {
  const start = Date.UTC(2026, 10, 26, 23, 59, 58); // a Thursday
  function rtc() {
    const clock = new Clock('virtual');
    let irq = false;
    const c = new CmosRtc(clock, (l) => { irq = l; }, start);
    const reg = (r: number) => { c.write(0x70, 1, r); return c.read(0x71, 1); };
    const set = (r: number, v: number) => { c.write(0x70, 1, r); c.write(0x71, 1, v); };
    return { clock, c, reg, set, irq: () => irq };
  }

  it('reads the time in BCD, runs on the machine clock, and rolls the date over', () => {
    const { clock, reg } = rtc();
    expect([reg(4), reg(2), reg(0)]).toEqual([0x23, 0x59, 0x58]);
    expect([reg(7), reg(8), reg(9), reg(0x32), reg(6)]).toEqual([0x26, 0x11, 0x26, 0x20, 5]);
    advance(clock, 3e9);
    expect([reg(7), reg(4), reg(2), reg(0)]).toEqual([0x27, 0x00, 0x00, 0x01]);
    expect(reg(0x0d)).toBe(0x80);
  });

  it('switches to binary and 12-hour formats through register B', () => {
    const { reg, set } = rtc();
    set(0x0b, 0x04); // binary, 12-hour
    expect(reg(0)).toBe(58);
    expect(reg(4)).toBe(0x80 | 11); // 11 PM
  });

  it('the SET bit stops the time; written fields take effect', () => {
    const { clock, reg, set } = rtc();
    set(0x0b, 0x82);
    set(0x00, 0x30);
    advance(clock, 5e9);
    expect(reg(0)).toBe(0x30);
    set(0x0b, 0x02);
    advance(clock, 2e9);
    expect(reg(0)).toBe(0x32);
  });

  it('raises IRQ 8 with the periodic flag in register C; reading C acknowledges it', () => {
    const { clock, reg, set, irq } = rtc();
    set(0x0a, 0x26); // 1024 Hz
    set(0x0b, 0x42); // PIE
    advance(clock, 2e6);
    expect(irq()).toBe(true);
    expect(reg(0x0c) & 0xc0).toBe(0xc0);
    expect(irq()).toBe(false);
    expect(reg(0x0c)).toBe(0);
  });

  it('keeps the NMI mask from bit 7 of the index port, and CMOS RAM bytes', () => {
    const { c, reg, set } = rtc();
    c.write(0x70, 1, 0x80 | 0x40);
    expect(c.nmiMasked).toBe(true);
    set(0x40, 0x5a);
    expect(reg(0x40)).toBe(0x5a);
    expect(c.nmiMasked).toBe(false);
  });
});

describe('8042 keyboard controller', () => {
  function kbc() {
    const events: string[] = [];
    const k = new I8042({ irq1: (l) => { if (l) events.push('irq1'); }, irq12: () => {}, a20: (on) => events.push(`a20 ${on}`), reset: () => events.push('reset') });
    return { k, events };
  }

  it('passes its self test with the answer in the output buffer', () => {
    const { k } = kbc();
    k.write(0x64, 1, 0xaa);
    expect(k.read(0x64, 1) & 1).toBe(1);
    expect(k.read(0x60, 1)).toBe(0x55);
    expect(k.read(0x64, 1) & 1).toBe(0);
  });

  it('switches A20 through the output port (D1h) and port 92h', () => {
    const { k, events } = kbc();
    k.write(0x64, 1, 0xd1); k.write(0x60, 1, 0x01); // A20 off, reset line inactive
    expect(k.a20Enabled).toBe(false);
    k.write(0x92, 1, 0x02);
    expect(k.a20Enabled).toBe(true);
    expect(events).toEqual(['a20 false', 'a20 true']);
  });

  it('resets the machine with command FEh', () => {
    const { k, events } = kbc();
    k.write(0x64, 1, 0xfe);
    expect(events).toEqual(['reset']);
  });

  it('answers keyboard commands with ACK and raises IRQ 1 (command byte bit 0)', () => {
    const { k, events } = kbc();
    k.write(0x60, 1, 0xf2); // identify
    expect([k.read(0x60, 1), k.read(0x60, 1), k.read(0x60, 1)]).toEqual([0xfa, 0xab, 0x83]);
    expect(events).toContain('irq1');
    k.write(0x64, 1, 0x20);
    expect(k.read(0x60, 1) & 0x01).toBe(1);
  });
});

describe('CGA text display', () => {
  it('reads the cursor registers back and renders text memory', () => {
    const ram = new Uint8Array(0xc0000);
    ram.set([...'Hi'].flatMap((c) => [c.charCodeAt(0), 7]), 0xb8000 + 160);
    const cga = new Cga((a, n) => ram.slice(a, a + n));
    cga.write(0x3d4, 1, 14); cga.write(0x3d5, 1, 0x01);
    cga.write(0x3d4, 2, (0x23 << 8) | 15); // OUT DX, AX: index and data at once
    cga.write(0x3d4, 1, 14);
    expect(cga.read(0x3d5, 1)).toBe(0x01);
    cga.write(0x3d4, 1, 15);
    expect(cga.read(0x3d5, 1)).toBe(0x23);
    expect(cga.cursor).toBe(0x123);
    expect(cga.lines()[1]).toBe('Hi');
    expect(cga.lines()).toHaveLength(25);
  });
});

/** A disk in memory that records requests. */
class MemDisk implements BlockDevice {
  readonly name = 'mem';
  readonly readOnly = false;
  readonly data: Uint8Array;
  constructor(readonly sectors: number) { this.data = new Uint8Array(sectors * 512); }
  read(lba: number, count: number, into: Uint8Array): BlockStatus {
    if (lba + count > this.sectors) return { ok: false, reason: 'out-of-range', message: 'range' };
    into.set(this.data.subarray(lba * 512, (lba + count) * 512));
    return { ok: true };
  }
  write(lba: number, count: number, data: Uint8Array): BlockStatus {
    this.data.set(data.subarray(0, count * 512), lba * 512);
    return { ok: true };
  }
  delayFor(): number { return 0; }
  close(): void {}
}

describe('ATA PIO channel', () => {
  function channel(slave = false) {
    const disk = new MemDisk(1000);
    for (let i = 0; i < disk.data.length; i++) disk.data[i] = (i * 7) & 0xff;
    let irqs = 0;
    const ata = new AtaChannel([disk, slave ? new MemDisk(10) : undefined], new Clock(), (l) => { if (l) irqs++; });
    const out = (p: number, v: number, size: 1 | 2 | 4 = 1) => ata.write(p, size, v);
    const inp = (p: number, size: 1 | 2 | 4 = 1) => ata.read(p, size);
    const command = (lba: number, count: number, cmd: number, drive = 0) => {
      out(0x1f2, count); out(0x1f3, lba & 0xff); out(0x1f4, (lba >> 8) & 0xff); out(0x1f5, (lba >> 16) & 0xff);
      out(0x1f6, 0xe0 | (drive << 4) | ((lba >> 24) & 0xf)); out(0x1f7, cmd);
    };
    return { disk, ata, out, inp, command, irqs: () => irqs };
  }

  it('IDENTIFY DEVICE: LBA capacity, geometry, model string', () => {
    const { inp, command, irqs } = channel();
    command(0, 0, 0xec);
    expect(inp(0x3f6) & 0x08).toBe(0x08); // DRQ
    const w = Array.from({ length: 256 }, () => inp(0x1f0, 2));
    expect(w[60] | (w[61] << 16)).toBe(1000);
    expect(w[49] & 0x200).toBe(0x200);
    const model = w.slice(27, 47).map((x) => String.fromCharCode(x >> 8, x & 0xff)).join('').trim();
    expect(model).toBe('Trapeze ATA disk');
    expect(inp(0x1f7)).toBe(0x50); // DRDY | DSC, no DRQ
    expect(irqs()).toBe(1);
  });

  it('READ SECTORS with 16-bit transfers: one interrupt per sector, the task file advances', () => {
    const { disk, inp, command, irqs } = channel();
    command(5, 2, 0x20);
    const bytes: number[] = [];
    for (let s = 0; s < 2; s++) {
      expect(inp(0x1f7) & 0x08).toBe(0x08);
      for (let i = 0; i < 256; i++) { const v = inp(0x1f0, 2); bytes.push(v & 0xff, v >> 8); }
    }
    expect(bytes).toEqual([...disk.data.subarray(5 * 512, 7 * 512)]);
    expect(irqs()).toBe(2);
    expect(inp(0x1f3)).toBe(7);
    expect(inp(0x1f2)).toBe(0);
  });

  it('WRITE SECTORS with 32-bit transfers lands on the disk and interrupts when done', () => {
    const { disk, out, inp, command, irqs } = channel();
    command(300, 1, 0x30);
    expect(irqs()).toBe(0); // the first block needs no interrupt
    for (let i = 0; i < 128; i++) out(0x1f0, 0x01020304 + i, 4);
    expect(irqs()).toBe(1);
    expect(inp(0x1f7)).toBe(0x50);
    expect([...disk.data.subarray(300 * 512, 300 * 512 + 4)]).toEqual([4, 3, 2, 1]);
  });

  it('READ MULTIPLE moves SET MULTIPLE sectors per interrupt', () => {
    const { out, inp, command, irqs } = channel();
    out(0x1f2, 4); out(0x1f7, 0xc6);
    command(0, 8, 0xc4);
    for (let i = 0; i < 8 * 128; i++) inp(0x1f0, 4);
    expect(irqs()).toBe(1 + 2);
    expect(inp(0x1f7)).toBe(0x50);
  });

  it('reports IDNF past the end, ABRT for unknown commands, and honours nIEN', () => {
    const { out, inp, command, irqs } = channel();
    command(999, 2, 0x20);
    expect(inp(0x1f7) & 0x01).toBe(1);
    expect(inp(0x1f1)).toBe(0x10);
    out(0x3f6, 0x02); // nIEN
    const before = irqs();
    command(0, 1, 0xa0);
    expect(inp(0x1f1)).toBe(0x04);
    expect(irqs()).toBe(before);
  });

  it('an absent slave reads status 0; software reset leaves the ATA signature', () => {
    const { out, inp } = channel();
    out(0x1f6, 0xf0);
    expect(inp(0x1f7)).toBe(0);
    out(0x3f6, 0x04); out(0x3f6, 0x00);
    expect([inp(0x1f2), inp(0x1f3), inp(0x1f4), inp(0x1f5)]).toEqual([1, 1, 0, 0]);
    expect(inp(0x1f7)).toBe(0x50);
  });
});

describe('local APIC', () => {
  function apic() {
    const clock = new Clock('virtual');
    const l = new LocalApic(0, clock);
    const ipis: Ipi[] = [];
    l.sendIpi = (i) => ipis.push(i);
    l.write(0xf0, 4, 0x1ff);
    return { clock, l, ipis };
  }

  it('has ID, version, TPR and SVR registers', () => {
    const { l } = apic();
    expect(l.read(0x30, 4) & 0xff).toBe(0x14);
    expect((l.read(0x30, 4) >> 16) & 0xff).toBe(5);
    expect(l.read(0x20, 4)).toBe(0);
    l.write(0x80, 4, 0x30);
    expect(l.read(0x80, 4)).toBe(0x30);
    expect(l.read(0xf0, 4)).toBe(0x1ff);
  });

  it('delivers by priority class above the TPR, in-service until EOI', () => {
    const { l } = apic();
    l.accept(0x31); l.accept(0x52);
    l.write(0x80, 4, 0x50);
    expect(l.pending()).toBe(-1); // 0x52's class is not above the TPR's
    l.write(0x80, 4, 0x00);
    expect(l.acknowledge()).toBe(0x52);
    expect(l.pending()).toBe(-1); // 0x31 is below the in-service class
    expect(l.read(0xa0, 4)).toBe(0x50); // PPR
    l.write(0xb0, 4, 0);
    expect(l.acknowledge()).toBe(0x31);
  });

  it('runs the timer one-shot and periodic with the divide configuration', () => {
    const { clock, l } = apic();
    l.write(0x3e0, 4, 0x3); // divide by 16
    l.write(0x320, 4, 0x40); // one-shot, vector 0x40
    l.write(0x380, 4, 1000);
    advance(clock, 8000);
    expect(l.read(0x390, 4)).toBe(500);
    advance(clock, 9000);
    expect(l.read(0x390, 4)).toBe(0);
    expect(l.acknowledge()).toBe(0x40);
    l.write(0xb0, 4, 0);
    l.write(0x320, 4, 0x20041); // periodic, vector 0x41
    l.write(0x380, 4, 100);
    let n = 0;
    for (let i = 0; i < 10; i++) { advance(clock, 1600); if (l.acknowledge() === 0x41) { n++; l.write(0xb0, 4, 0); } }
    expect(n).toBe(10);
  });

  it('sends INIT and startup IPIs from the ICR, which reads back idle', () => {
    const { l, ipis } = apic();
    l.write(0x310, 4, 1 << 24);
    l.write(0x300, 4, 0x4500);
    l.write(0x300, 4, 0x4608);
    expect(ipis.map((i) => [i.mode, i.destination, i.vector])).toEqual([[5, 1, 0], [6, 1, 8]]);
    expect(l.read(0x300, 4) & 0x1000).toBe(0);
  });

  it('keeps the level and trigger bits of the ICR: INIT level de-assert is told apart from INIT', () => {
    const { l, ipis } = apic();
    l.write(0x310, 4, 1 << 24);
    l.write(0x300, 4, 0xc500);  // INIT, level assert, level-triggered
    l.write(0x300, 4, 0x8500);  // INIT level de-assert
    l.write(0x300, 4, 0xcc0fe); // all-but-self fixed IPI, vector 0xFE, level bits set
    expect(ipis.map((i) => [i.mode, i.deassert, i.shorthand])).toEqual([[5, false, 0], [5, true, 0], [0, false, 3]]);
    expect(l.read(0x300, 4)).toBe(0xcc0fe);
    // reserved bits and delivery status read back as zero
    l.write(0x300, 4, 0xfff33000); // reserved bits 13, 16-17, 20-31 and delivery status (12)
    expect(l.read(0x300, 4)).toBe(0);
  });

  it('tells the I/O APIC about the EOI of a level-triggered vector', () => {
    const { l } = apic();
    const eois: number[] = [];
    l.onLevelEoi = (v) => eois.push(v);
    l.accept(0x60, true);
    l.acknowledge();
    l.write(0xb0, 4, 0);
    expect(eois).toEqual([0x60]);
  });
});

describe('I/O APIC', () => {
  function ioapic() {
    const sent: IoApicMessage[] = [];
    const io = new IoApic((m) => sent.push(m));
    const reg = (r: number, v?: number) => { io.write(0, 4, r); if (v !== undefined) io.write(0x10, 4, v); return io.read(0x10, 4); };
    return { io, sent, reg };
  }

  it('reports 24 entries and keeps the redirection table', () => {
    const { reg } = ioapic();
    expect(reg(1)).toBe(0x00170011);
    expect(reg(0x10 + 2 * 5)).toBe(0x10000); // masked at reset
    reg(0x10 + 2 * 5, 0x8031);
    reg(0x11 + 2 * 5, 0x03000000);
    expect(reg(0x10 + 2 * 5)).toBe(0x8031);
    expect(reg(0x11 + 2 * 5)).toBe(0x03000000);
  });

  it('keeps the mask, trigger and polarity bits written; delivery status, remote IRR and reserved bits are its own', () => {
    const { io, sent, reg } = ioapic();
    reg(0x10 + 2 * 3, 0x1a9ff | 0xfffe0000 | 0x5000);
    expect(reg(0x10 + 2 * 3)).toBe(0x1a9ff);
    // the mask bit holds: a masked edge pin sends nothing; unmasked, it sends
    reg(0x10 + 2 * 4, 0x10044);
    io.setPin(4, true); io.setPin(4, false);
    expect(sent).toHaveLength(0);
    reg(0x10 + 2 * 4, 0x44);
    io.setPin(4, true);
    expect(sent.map((m) => m.vector)).toEqual([0x44]);
  });

  it('sends edges once; a masked edge is lost', () => {
    const { io, sent, reg } = ioapic();
    io.setPin(4, true); io.setPin(4, false);
    expect(sent).toHaveLength(0);
    reg(0x10 + 8, 0x44);
    io.setPin(4, true); io.setPin(4, true); io.setPin(4, false);
    expect(sent.map((m) => m.vector)).toEqual([0x44]);
  });

  it('a level pin waits for the EOI (remote IRR), then sends again while asserted', () => {
    const { io, sent, reg } = ioapic();
    reg(0x10 + 2 * 10, 0x8050);
    io.setPin(10, true);
    expect(reg(0x10 + 2 * 10) & 0x4000).toBe(0x4000);
    io.setPin(10, true);
    expect(sent).toHaveLength(1);
    io.eoi(0x50);
    expect(sent).toHaveLength(2);
    io.setPin(10, false);
    io.eoi(0x50);
    expect(sent).toHaveLength(2);
  });
});

describe('POST codes and debug console', () => {
  it('keep the last codes written to ports 80h and 190h, and pass 0xE9 bytes through', () => {
    const post = new PostCode();
    post.write(0x80, 1, 0x12); post.write(0x190, 2, 0x1234);
    expect(post.codes).toEqual([0x12, 0x1234]);
    expect(post.describe()).toBe('0x12 0x1234');
    const bytes: number[] = [];
    const con = new DebugCon((b) => bytes.push(b));
    con.write(0xe9, 1, 0x41);
    expect(bytes).toEqual([0x41]);
    expect(con.read(0xe9, 1)).toBe(0xe9);
  });
});

describe('x87 error latch', () => {
  it('FERR# raises IRQ 13 until the guest writes port F0h', () => {
    const levels: boolean[] = [];
    const latch = new FpuErrorLatch((l) => levels.push(l));
    latch.raise();
    expect(latch.latched).toBe(true);
    latch.write(0xf0, 1, 0);
    expect(latch.latched).toBe(false);
    expect(levels).toEqual([true, false]);
  });
});

describe('firmware tables', () => {
  it('MP floating pointer and configuration table with zero checksums', () => {
    const at = 0x9fe00;
    const t = buildMpTables(at, { cpus: 2, ioApicId: 0, ioApicAddress: 0xfec00000, localApicAddress: 0xfee00000, isaIrqToPin: (i) => (i === 0 ? 2 : i), signature: 0x633, features: 0x201 });
    const sum = (b: Uint8Array) => b.reduce((a, x) => (a + x) & 0xff, 0);
    expect(String.fromCharCode(...t.subarray(0, 4))).toBe('_MP_');
    expect(sum(t.subarray(0, 16))).toBe(0);
    const v = new DataView(t.buffer);
    expect(v.getUint32(4, true)).toBe(at + 16);
    const table = t.subarray(16);
    expect(String.fromCharCode(...table.subarray(0, 4))).toBe('PCMP');
    const length = v.getUint16(16 + 4, true);
    expect(sum(table.subarray(0, length))).toBe(0);
    // 2 processors, a bus, an I/O APIC, ExtINT + 15 ISA IRQs, 2 local interrupts
    expect(v.getUint16(16 + 0x22, true)).toBe(2 + 1 + 1 + 16 + 2);
    expect(table[44]).toBe(0);
    expect(table[44 + 3]).toBe(3); // BSP, enabled
    expect(table[64 + 3]).toBe(1); // AP, enabled
  });

  it('the memory map reports RAM below the EBDA and above 1 MiB', () => {
    const map = pcMemoryMap(64 << 20);
    const usable = map.filter((r) => r.type === 1).reduce((a, r) => a + r.length, 0);
    expect(usable).toBe(0x9fc00 + (64 << 20) - 0x100000);
  });
});
