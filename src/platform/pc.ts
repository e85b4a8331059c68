// The PC: a VM with the classic platform around its vCPUs — 8259 pair, 8254,
// CMOS/RTC, 8042 (A20, reset), COM1 on IRQ 4, CGA text, the primary ATA
// channel on IRQ 14, a local APIC per vCPU and an I/O APIC, POST-code and
// debug-console ports — the firmware that boots it, and the time that drives
// its timers. It plugs into the VM's run loop as its PlatformHooks.
import { createMachine, readImage, readModules, type MachineOptions } from '../machine.js';
import type { Vm, PlatformHooks } from '../vm/vm.js';
import type { Vcpu } from '../vm/vcpu.js';
import type { Uart16550 } from '../devices/uart16550.js';
import { PicPair, PIC_MASTER, PIC_SLAVE, ELCR } from '../devices/pic8259.js';
import { Pit8254, PIT_BASE, PORT_B } from '../devices/pit8254.js';
import { CmosRtc, CMOS_INDEX, CMOS_DATA } from '../devices/cmos-rtc.js';
import { I8042, KBD_DATA, KBD_STATUS, PORT_A } from '../devices/i8042.js';
import { Cga, CGA_PORTS } from '../devices/cga.js';
import { AtaChannel, ATA_PRIMARY } from '../devices/ata.js';
import { Feature } from '../vm/cpuid.js';
import { LocalApic, LAPIC_BASE, LAPIC_SIZE, type Ipi, type LocalApicState } from '../devices/local-apic.js';
import { IoApic, IOAPIC_BASE, IOAPIC_SIZE, type IoApicMessage } from '../devices/io-apic.js';
import { PostCode, POST_PORTS } from '../devices/post-code.js';
import { DebugCon, DEBUGCON_PORT } from '../devices/debugcon.js';
import { PcTestdev, TESTDEV_PORT, TESTDEV_FLUSH_PORT, TESTDEV_IRQ_PORT, TESTDEV_IRQ_LINES, TESTDEV_IOMEM, TESTDEV_IOMEM_SIZE } from '../devices/pc-testdev.js';
import { FpuErrorLatch, FPU_ERROR_PORT, FPU_ERROR_IRQ } from '../devices/fpu-error.js';
import type { BlockDevice } from '../storage/block-device.js';
import { Clock, type ClockMode } from './clock.js';
import type { HostInput } from './host-input.js';
import { host } from '../host/platform.js';
import { Bios, FIRMWARE_PORT } from '../firmware/bios.js';
import { buildRom, ROM_BASE } from '../firmware/rom.js';
import { buildMpTables } from '../firmware/mp-table.js';
import { buildAcpiTables } from '../firmware/acpi-tables.js';
import { Hpet, HPET_BASE, HPET_SIZE } from '../devices/hpet.js';
import { AcpiPm, PM_BASE, PM_LAST, PM1_EVT_BLK, PM1_CNT_BLK, PM_TMR_BLK, SCI_IRQ } from '../devices/acpi-pm.js';
import { EBDA, pcMemoryMap, type MemoryRange } from '../firmware/memory-map.js';
import { FwCfg, FW_CFG_PORT, FW_CFG_DATA } from '../devices/fw-cfg.js';
import { loadMultiboot, type LoadedKernel } from '../loader/multiboot.js';
import { TrapezeError } from '../errors.js';
import type { SnapshotPart } from '../vm/snapshot-part.js';

/** The most ROM a --bios image may have: it is mapped at 0xC0000-0xFFFFF and below 4 GiB. */
export const MAX_ROM_BYTES = 256 * 1024;
const A20_OFF_MASK = 0xffefffff;
/** Where the MP floating pointer and configuration table go: the EBDA's second half. */
const MP_TABLES = EBDA + 0x200;
/** Where the ACPI tables go (RSDP first): the BIOS area the RSDP scan covers, below the ROM. */
const ACPI_TABLES = 0xe0000;
/** In wall-clock mode the host looks at the time at least this often (instructions). */
const WALL_CLOCK_BUDGET = 200_000;
const IDLE_POLL_MS = 10;
/** A halted guest that no interrupt reached in this much virtual time (and no input can come) has stopped. */
const MAX_QUIET_IDLE_NS = 60e9;
const UART_FIFO = 16;

export interface PcOptions extends MachineOptions {
  /** Disks on the primary ATA channel: master, slave. */
  disks?: BlockDevice[];
  clock?: ClockMode;
  /** The RTC's time at power-on (epoch ms); default: 2026-01-01 in virtual mode, now in wall mode. */
  rtcStartMs?: number;
  /** Bytes written to port 0xE9. */
  debugcon?: (byte: number) => void;
  /** QEMU's pc-testdev (ports 0xE0-0xE7 and 0x2000, memory at 0xFF000000), which kvm-unit-tests expect. */
  testdev?: boolean;
  /** Typed input for COM1. */
  input?: HostInput;
  /** Called with the text screen when it changed (at most every `screenIntervalMs` of host time). */
  screen?: (lines: string[]) => void;
  screenIntervalMs?: number;
}

/** What the PC saves of its own (its devices save theirs). */
export interface PcState {
  a20: boolean;
  currentVcpu: number;
  keyQueue: number[];
  quietIdleNs: number;
  lastScreen: string;
  lastScreenAt: number;
}

export class Pc implements PlatformHooks, SnapshotPart<PcState> {
  readonly vm: Vm;
  readonly uart: Uart16550;
  readonly clock: Clock;
  readonly pic = new PicPair();
  readonly pit: Pit8254;
  readonly cmos: CmosRtc;
  readonly kbd: I8042;
  readonly cga: Cga;
  readonly ata: AtaChannel;
  readonly lapics: LocalApic[];
  readonly ioapic: IoApic;
  readonly post = new PostCode();
  readonly fpuError = new FpuErrorLatch((level) => this.setIrq(FPU_ERROR_IRQ, level));
  readonly bios: Bios;
  readonly fwCfg: FwCfg;
  readonly hpet: Hpet;
  readonly acpiPm: AcpiPm;
  readonly disks: BlockDevice[];
  /** The ROM image (built-in, or --bios) and where its RAM copy lives. */
  private rom: Uint8Array = buildRom();
  private romAt = ROM_BASE;
  /** INIT and startup IPIs: a multiprocessor scheduler may replace these. */
  onInit: (vcpu: number) => void;
  onStartup: (vcpu: number, vector: number) => void;
  private readonly input: HostInput | undefined;
  private readonly screen: ((lines: string[]) => void) | undefined;
  private readonly screenInterval: number;
  private lastScreen = '';
  private lastScreenAt = 0;
  /** Virtual time skipped while halted since the last interrupt. */
  private quietIdleNs = 0;

  constructor(options: PcOptions = {}) {
    const machine = createMachine({ ...options, serialIrq: (level) => this.setIrq(4, level) });
    this.vm = machine.vm;
    this.uart = machine.uart;
    this.uart.irqNeedsOut2 = false; // as QEMU's PC wires COM1: guests made for it leave OUT2 alone
    const vm = this.vm;
    this.clock = new Clock(options.clock ?? 'virtual');
    this.disks = options.disks ?? [];
    this.input = options.input;
    this.screen = options.screen;
    this.screenInterval = options.screenIntervalMs ?? 100;

    vm.ports.register(this.pic, PIC_MASTER, PIC_MASTER + 1);
    vm.ports.register(this.pic, PIC_SLAVE, PIC_SLAVE + 1);
    vm.ports.register(this.pic, ELCR, ELCR + 1);
    // in the HPET's legacy replacement mode its timers 0 and 1 take IRQ 0 and IRQ 8
    this.pit = new Pit8254(this.clock, (level) => { if (!this.hpet.legacyRouting) this.setIrq(0, level); });
    vm.ports.register(this.pit, PIT_BASE, PIT_BASE + 3);
    vm.ports.register(this.pit, PORT_B);
    const start = options.rtcStartMs ?? (this.clock.mode === 'virtual' ? Date.UTC(2026, 0, 1) : Date.now());
    this.cmos = new CmosRtc(this.clock, (level) => { if (!this.hpet.legacyRouting) this.setIrq(8, level); }, start);
    vm.ports.register(this.cmos, CMOS_INDEX, CMOS_DATA);
    this.kbd = new I8042({
      irq1: (level) => this.setIrq(1, level),
      irq12: (level) => this.setIrq(12, level),
      a20: (on) => this.setA20(on),
      reset: () => this.reset(),
    });
    vm.ports.register(this.kbd, KBD_DATA);
    vm.ports.register(this.kbd, KBD_STATUS);
    vm.ports.register(this.kbd, PORT_A);
    this.cga = new Cga((addr, length) => vm.readPhys(addr, length));
    vm.ports.register(this.cga, CGA_PORTS.first, CGA_PORTS.last);
    this.ata = new AtaChannel(this.disks, this.clock, (level) => this.setIrq(ATA_PRIMARY.irq, level));
    vm.ports.register(this.ata, ATA_PRIMARY.command, ATA_PRIMARY.command + 7);
    vm.ports.register(this.ata, ATA_PRIMARY.control);
    for (const p of POST_PORTS) vm.ports.register(this.post, p);
    vm.ports.register(this.fpuError, FPU_ERROR_PORT);
    if (options.debugcon) vm.ports.register(new DebugCon(options.debugcon), DEBUGCON_PORT);
    if (options.testdev) {
      const testdev = new PcTestdev((line, level) => this.setIrq(line, level));
      vm.ports.register(testdev, TESTDEV_PORT, TESTDEV_FLUSH_PORT + 3);
      vm.ports.register(testdev, TESTDEV_IRQ_PORT, TESTDEV_IRQ_PORT + TESTDEV_IRQ_LINES - 1);
      vm.mmio.register(testdev.iomem, TESTDEV_IOMEM, TESTDEV_IOMEM_SIZE);
    }
    this.fwCfg = new FwCfg({ ramBytes: vm.ramBytes, cpus: vm.vcpus.length });
    this.fwCfg.addFile('etc/e820', e820Table(pcMemoryMap(vm.ramBytes)));
    vm.ports.register(this.fwCfg, FW_CFG_PORT, FW_CFG_DATA);

    this.lapics = vm.vcpus.map((v) => new LocalApic(v.index, this.clock));
    // each vCPU has an on-chip local APIC, and CPUID.1:EDX says so (Linux keeps to the 8259s otherwise)
    vm.cpuid.features |= Feature.apic;
    for (const l of this.lapics) {
      l.sendIpi = (ipi) => this.deliverIpi(ipi);
      l.onLevelEoi = (vector) => this.ioapic.eoi(vector);
      l.onAccept = () => this.wake(l.index);
    }
    // one window: each access goes to the local APIC of the vCPU that made it
    vm.mmio.register({
      name: 'lapic',
      read: (off, size) => this.lapics[this.currentVcpu].read(off, size),
      write: (off, size, v) => this.lapics[this.currentVcpu].write(off, size, v),
    }, LAPIC_BASE, LAPIC_SIZE);
    this.ioapic = new IoApic((m) => this.deliverMessage(m));
    vm.mmio.register(this.ioapic, IOAPIC_BASE, IOAPIC_SIZE);
    this.hpet = new Hpet(this.clock, { isa: (irq, level) => this.setIrq(irq, level), gsi: (pin, level) => this.ioapic.setPin(pin, level) });
    vm.mmio.register(this.hpet, HPET_BASE, HPET_SIZE);
    this.acpiPm = new AcpiPm(this.clock, (type) => vm.requestStop({ kind: 'error', reason: `ACPI sleep state (SLP_TYP ${type}) requested: sleep states are not modelled`, input: false }));
    vm.ports.register(this.acpiPm, PM_BASE, PM_LAST);

    this.bios = new Bios({
      vm, disks: this.disks, cga: this.cga,
      initPlatform: () => this.initPlatform(),
      key: (take) => this.biosKey(take),
      a20: (on) => { if (on !== undefined) this.setA20(on); return this.a20; },
      cmos: (r) => { this.cmos.write(CMOS_INDEX, 1, r); return this.cmos.read(CMOS_DATA, 1); },
      fail: (message) => vm.requestStop({ kind: 'error', reason: message, input: true }),
    });
    vm.ports.register(this.bios, FIRMWARE_PORT);

    this.onInit = (i) => { this.lapics[i].reset(); this.vm.initVcpu(i); };
    this.onStartup = (i, vector) => this.vm.startupVcpu(i, vector);
    vm.platform = this;
  }

  // ---- booting ----
  /** Boot as a PC does: the ROM's reset vector, POST, then sector 0 of the first disk. */
  bootDisk(): void {
    if (!this.disks[0]) throw new TrapezeError('--boot disk needs a disk (--disk <file>)');
    this.powerOn();
  }

  /** Run a firmware image from the reset vector F000:FFF0. */
  bootBios(path: string): void {
    const rom = readImage(path);
    if (rom.length === 0 || rom.length > MAX_ROM_BYTES || rom.length % 2048) {
      throw new TrapezeError(`${path}: a ROM image must be 2 KiB to ${MAX_ROM_BYTES / 1024} KiB in 2 KiB steps (got ${rom.length} bytes)`);
    }
    this.rom = rom;
    this.romAt = 0x100000 - rom.length;
    this.powerOn();
  }

  /** Load a multiboot kernel after the firmware's set-up, as a boot loader would. */
  bootMultiboot(path: string, cmdline = '', modules: string[] = []): LoadedKernel {
    const kernel = readImage(path);
    const mods = readModules(modules);
    this.mapRom();
    this.bios.setup();
    return loadMultiboot(this.vm, kernel, path, cmdline, mods);
  }

  /**
   * What a snapshot saves, part by part (src/vm/snapshot.ts): each device
   * under its field's name, the local APICs by vCPU, and the PC's own fields
   * under "pc". Every part declares its fields and their version
   * (src/vm/snapshot-part.ts). The BIOS, the ROM and the firmware tables hold
   * nothing a run changes: they are rebuilt when the machine is made.
   */
  snapshotParts(): Record<string, SnapshotPart> {
    const lapics: SnapshotPart<Record<number, LocalApicState>> = {
      snapshotVersion: 1,
      saveState: () => Object.fromEntries(this.lapics.map((l, i) => [i, l.saveState()])),
      loadState: (s) => this.lapics.forEach((l, i) => {
        if (!s[i]) throw new TrapezeError(`no saved state for the local APIC of vCPU ${i}`);
        l.loadState(s[i]);
      }),
    };
    return {
      pc: this, uart: this.uart, clock: this.clock, pic: this.pic, pit: this.pit, cmos: this.cmos, kbd: this.kbd,
      cga: this.cga, ata: this.ata, lapics, ioapic: this.ioapic, post: this.post, fpuError: this.fpuError,
      fwCfg: this.fwCfg, hpet: this.hpet, acpiPm: this.acpiPm,
    };
  }

  readonly snapshotVersion = 1;
  saveState(): PcState {
    return {
      a20: this.a20, currentVcpu: this.currentVcpu, keyQueue: [...this.keyQueue], quietIdleNs: this.quietIdleNs,
      lastScreen: this.lastScreen, lastScreenAt: this.lastScreenAt,
    };
  }
  loadState(s: PcState): void {
    ({ a20: this.a20, currentVcpu: this.currentVcpu, quietIdleNs: this.quietIdleNs, lastScreen: this.lastScreen, lastScreenAt: this.lastScreenAt } = s);
    this.keyQueue = [...s.keyQueue];
  }

  private powerOn(): void {
    this.mapRom();
    // the core's reset state is F000:FFF0 with CS.base = 0xFFFF0000: the ROM's top
  }

  /** The ROM's copy below 1 MiB, and its read-only alias at the top of 4 GiB. */
  private mapRom(): void {
    this.vm.writePhys(this.romAt, this.rom);
    this.vm.core.exports.romWindow(0x100000000 - this.rom.length, this.rom.length, this.romAt);
  }

  /** What a BIOS sets up before booting: the 8259s, the 8254, virtual wire, the MP and ACPI tables. */
  private initPlatform(): void {
    const out = (port: number, v: number) => this.vm.ports.write(port, 1, v);
    // 8259s: edge, cascade, vectors 08h and 70h, 8086 mode; only the timer, keyboard and cascade unmasked
    out(0x20, 0x11); out(0x21, 0x08); out(0x21, 0x04); out(0x21, 0x01);
    out(0xa0, 0x11); out(0xa1, 0x70); out(0xa1, 0x02); out(0xa1, 0x01);
    out(0x21, 0xf8); out(0xa1, 0xff);
    // 8254 counter 0: mode 3, count 65536 (18.2 Hz)
    out(0x43, 0x36); out(0x40, 0); out(0x40, 0);
    for (const l of this.lapics) l.virtualWire();
    this.firmwareTables();
  }

  /** The MP and ACPI tables, built from this machine's configuration. */
  firmwareTables(): void {
    this.vm.writePhys(MP_TABLES, buildMpTables(MP_TABLES, {
      cpus: this.vm.vcpus.length,
      ioApicId: this.ioapic.id,
      ioApicAddress: IOAPIC_BASE,
      localApicAddress: LAPIC_BASE,
      isaIrqToPin,
      signature: 0x0633,
      features: 0x0201, // FPU, APIC
    }));
    this.vm.writePhys(ACPI_TABLES, buildAcpiTables(ACPI_TABLES, {
      cpus: this.vm.vcpus.length,
      localApicAddress: LAPIC_BASE,
      ioApicId: this.ioapic.id,
      ioApicAddress: IOAPIC_BASE,
      isaIrqToPin,
      pm1EvtBlk: PM1_EVT_BLK, pm1CntBlk: PM1_CNT_BLK, pmTmrBlk: PM_TMR_BLK, sciIrq: SCI_IRQ,
      hpetAddress: HPET_BASE, hpetBlockId: this.hpet.read(0, 4),
    }));
  }

  /** Machine reset (8042 pulse, port 92h): every vCPU and the devices a reset clears; A20 on. */
  reset(): void {
    this.vm.vcpus.forEach((_, i) => (i === 0 ? this.vm.core.exports.resetVcpu(0) : this.onInit(i)));
    this.lapics.forEach((l) => l.reset());
    this.pic.reset();
    this.pit.reset();
    this.hpet.reset();
    this.kbd.resetState();
    this.setA20(true);
    this.mapRom(); // ROM contents are what the chip holds, whatever was written over the RAM copy
  }

  // ---- A20 ----
  private a20 = true;
  private setA20(on: boolean): void {
    this.a20 = on;
    for (const v of this.vm.vcpus) v.set('a20Mask', on ? 0xffffffff : A20_OFF_MASK);
    this.vm.core.exports.flushTlb();
  }

  // ---- interrupts ----
  private currentVcpu = 0;

  /** An ISA interrupt line: to the 8259s and the I/O APIC. */
  setIrq(irq: number, level: boolean): void {
    this.pic.setIrq(irq, level);
    this.ioapic?.setPin(isaIrqToPin(irq), level);
  }

  private deliverMessage(m: IoApicMessage): void {
    if (m.mode === 7) return; // ExtINT: the 8259 path, through LINT0
    const targets = this.lapics.filter((l) => (m.logical ? l.matchesLogical(m.destination) : m.destination === 0xff || l.id === m.destination));
    const chosen = m.mode === 1 ? targets.slice(0, 1) : targets; // lowest priority: the first will do
    for (const l of chosen) l.accept(m.vector, m.level);
  }

  /** An event for vCPU `index`: when another vCPU is running, that one's turn ends so `index` takes it now. */
  private wake(index: number): void {
    if (index !== this.currentVcpu) this.vm.handOver(index);
  }

  private deliverIpi(ipi: Ipi): void {
    const all = this.lapics;
    const targets = ipi.shorthand === 1 ? [all[ipi.from]]
      : ipi.shorthand === 2 ? all
      : ipi.shorthand === 3 ? all.filter((l) => l.index !== ipi.from)
      : all.filter((l) => (ipi.logical ? l.matchesLogical(ipi.destination) : ipi.destination === 0xff || l.id === ipi.destination));
    for (const l of targets) {
      switch (ipi.mode) {
        case 0: case 1: l.accept(ipi.vector); break; // accept wakes the target
        case 5: if (!ipi.deassert) { this.onInit(l.index); this.wake(l.index); } break;
        case 6: this.onStartup(l.index, ipi.vector); this.wake(l.index); break;
        case 4: this.vm.vcpus[l.index].injectNmi(); this.wake(l.index); break;
        default: break; // SMI: no system-management mode
      }
    }
  }

  interruptPending(vcpu: Vcpu): boolean { return this.hasInterrupt(vcpu); }

  private hasInterrupt(vcpu: Vcpu): boolean {
    const l = this.lapics[vcpu.index];
    return l.pending() >= 0 || (vcpu.index === 0 && l.acceptsExtInt() && this.pic.hasInterrupt());
  }

  // ---- PlatformHooks ----
  budgetLimit(vcpu: Vcpu): number {
    this.currentVcpu = vcpu.index;
    let limit = this.clock.instructionsUntilDeadline();
    if (this.clock.mode === 'wall') limit = Math.min(limit, WALL_CLOCK_BUDGET);
    return limit;
  }

  retiredSoFar(n: number): void { this.clock.retiredSoFar(n); }

  retired(vcpu: Vcpu, n: number): void {
    this.currentVcpu = vcpu.index;
    this.clock.retired(n);
    this.pollInput();
    if (this.screen) this.refreshScreen(false);
  }

  acknowledgeInterrupt(vcpu: Vcpu): number {
    const l = this.lapics[vcpu.index];
    let v = l.acknowledge();
    if (v < 0 && vcpu.index === 0 && l.acceptsExtInt() && this.pic.hasInterrupt()) v = this.pic.acknowledge();
    if (v >= 0) this.quietIdleNs = 0;
    return v;
  }

  ferr(_vcpu: Vcpu): void { this.fpuError.raise(); }

  idle(vcpu: Vcpu): boolean {
    this.pollInput();
    if (this.hasInterrupt(vcpu)) return true;
    const inputOpen = !!this.input && !this.input.ended;
    const deadline = this.clock.nextDeadline;
    if (deadline === Infinity && !inputOpen) return false;
    if (this.clock.mode === 'virtual' && deadline !== Infinity) {
      // timers that interrupt nobody (the RTC's update cycle, a masked 8254) must not keep a dead guest alive
      this.quietIdleNs += this.clock.skipToDeadline();
      if (this.hasInterrupt(vcpu)) this.quietIdleNs = 0;
      return inputOpen || this.quietIdleNs < MAX_QUIET_IDLE_NS;
    }
    const waitMs = Math.min(IDLE_POLL_MS, (deadline - this.clock.now()) / 1e6);
    host().sleepMs(Math.ceil(waitMs));
    this.clock.fireDue();
    return true;
  }

  // ---- host input and screen ----
  /** Move typed bytes into COM1 as its receive FIFO empties (a fixed point, so file input replays exactly). */
  private pollInput(): void {
    if (!this.input || this.uart.receiveQueued > 0 || this.input.ended || !this.uart.readyForInput) return;
    const bytes = this.input.take(UART_FIFO);
    if (bytes.length) this.uart.receive(bytes);
  }

  private keyQueue: number[] = [];
  private biosKey(take: boolean): number | undefined {
    if (!this.keyQueue.length && this.input && !this.input.ended) this.keyQueue.push(...this.input.take(UART_FIFO));
    return take ? this.keyQueue.shift() : this.keyQueue[0];
  }

  /** Show the screen if it changed (forced: now, whatever the interval). */
  refreshScreen(force: boolean): void {
    if (!this.screen) return;
    const now = Date.now();
    if (!force && now - this.lastScreenAt < this.screenInterval) return;
    this.lastScreenAt = now;
    const lines = this.cga.lines();
    const text = lines.join('\n');
    if (text === this.lastScreen && !force) return;
    this.lastScreen = text;
    this.screen(lines);
  }

  /** Release host resources (disks, input). */
  close(): void {
    for (const d of this.disks) d.close();
    this.input?.close();
  }
}

/** fw_cfg's "etc/e820": per range a u64 address, u64 length and u32 type, little-endian. */
function e820Table(map: MemoryRange[]): Uint8Array {
  const v = new DataView(new ArrayBuffer(map.length * 20));
  map.forEach((r, i) => {
    v.setBigUint64(i * 20, BigInt(r.base), true);
    v.setBigUint64(i * 20 + 8, BigInt(r.length), true);
    v.setUint32(i * 20 + 16, r.type, true);
  });
  return new Uint8Array(v.buffer);
}

/** The PC's wiring of ISA IRQs to I/O APIC inputs: IRQ 0 (the 8254) arrives on INTIN 2. */
export function isaIrqToPin(irq: number): number { return irq === 0 ? 2 : irq; }
