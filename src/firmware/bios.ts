// The built-in BIOS, run by the host when a ROM stub (rom.ts) writes the
// firmware port: POST (interrupt vectors, BIOS data area, tables, then the
// boot sector of the first disk at 0000:7C00 with DL=80h) and a small set of
// real-mode services: INT 10h (teletype, cursor, scroll), 11h, 12h,
// 13h (CHS and EDD disk access), 15h (E820, E801, 88h, A20), 16h (keys),
// 19h (boot), 1Ah (ticks, RTC).
import type { PortDevice, IoSize } from '../vm/portbus.js';
import type { Vm } from '../vm/vm.js';
import type { Vcpu, SegName } from '../vm/vcpu.js';
import { SECTOR_SIZE, type BlockDevice } from '../storage/block-device.js';
import type { Cga } from '../devices/cga.js';
import { COLUMNS, ROWS, CGA_TEXT } from '../devices/cga.js';
import { ROM_SEGMENT, Entry, SERVICE_STUB_SIZE, SERVICE_VECTORS, FIRMWARE_PORT } from './rom.js';
import { pcMemoryMap, EBDA, BASE_MEMORY_KB } from './memory-map.js';

const CF = 0x001, ZF = 0x040, IF = 0x200;
const BDA = 0x400;
const BOOT_ADDR = 0x7c00;
const HEADS = 16, SPT = 63;
const SMAP = 0x534d4150;

/** What the BIOS needs from the machine around it. */
export interface BiosMachine {
  vm: Vm;
  disks: (BlockDevice | undefined)[];
  cga: Cga;
  /** Initialise the interrupt controllers and timers as a BIOS does; write the MP and other tables. */
  initPlatform(): void;
  /** The next key typed (ASCII), removed when `take`; undefined when none. */
  key(take: boolean): number | undefined;
  a20(enabled?: boolean): boolean;
  /** Read a CMOS register. */
  cmos(index: number): number;
  /** End the run: nothing to boot. */
  fail(message: string): void;
}

export class Bios implements PortDevice {
  readonly name = 'bios';
  /** Service calls by vector, for statistics. */
  readonly calls = new Map<number, number>();

  constructor(private readonly m: BiosMachine) {}

  read(_port: number, _size: IoSize): number { return 0xff; }

  /** Only the ROM's own stubs, in real mode, reach the BIOS through this port. */
  write(_port: number, _size: IoSize, _value: number): void {
    const cpu = this.m.vm.vcpus[0];
    if ((cpu.get('cr0') & 1) || cpu.segment('cs').selector !== ROM_SEGMENT) return;
    const at = cpu.eip - 2; // the OUT imm8 that trapped
    if (at === Entry.post) { this.post(cpu); return; }
    const off = at - Entry.services;
    if (off < 0 || off % SERVICE_STUB_SIZE || off / SERVICE_STUB_SIZE >= SERVICE_VECTORS) return;
    const vector = off / SERVICE_STUB_SIZE;
    this.calls.set(vector, (this.calls.get(vector) ?? 0) + 1);
    // the caller's IF (in the FLAGS the INT pushed) holds during the service and after RETF 2
    const flags = this.read16(this.linear(cpu, 'ss', cpu.reg('esp') & 0xffff) + 4);
    cpu.eflags = (cpu.eflags & ~IF) | (flags & IF);
    this.service(cpu, vector);
  }

  // ---- POST ----
  post(cpu: Vcpu): void {
    this.setup();
    this.boot(cpu);
  }

  /** What POST leaves in memory and in the devices, before any boot: also done for kernels loaded by the host. */
  setup(): void {
    const vm = this.m.vm;
    const ivt = new DataView(new ArrayBuffer(0x400));
    const vec = (n: number, off: number) => ivt.setUint32(n * 4, (ROM_SEGMENT << 16) | off, true);
    for (let n = 0; n < 256; n++) vec(n, Entry.iret);
    for (let n = 0; n < SERVICE_VECTORS; n++) if (SERVICES.has(n)) vec(n, Entry.services + n * SERVICE_STUB_SIZE);
    vec(0x08, Entry.timer);
    for (let n = 0x09; n <= 0x0f; n++) vec(n, Entry.masterEoi);
    for (let n = 0x70; n <= 0x77; n++) vec(n, Entry.slaveEoi);
    vm.writePhys(0, new Uint8Array(ivt.buffer));
    this.writeDataArea();
    this.m.initPlatform();
  }

  private writeDataArea(): void {
    const vm = this.m.vm;
    const bda = new DataView(new ArrayBuffer(0x100));
    bda.setUint16(0x00, 0x3f8, true);          // COM1
    bda.setUint16(0x0e, EBDA >> 4, true);      // EBDA segment
    bda.setUint16(0x10, EQUIPMENT, true);
    bda.setUint16(0x13, BASE_MEMORY_KB, true); // base memory in KiB
    bda.setUint8(0x49, 3);                     // video mode 3: 80x25 colour text
    bda.setUint16(0x4a, COLUMNS, true);
    bda.setUint16(0x4c, COLUMNS * ROWS * 2, true);
    bda.setUint16(0x63, 0x3d4, true);          // CRTC base port
    bda.setUint8(0x75, this.m.disks.filter(Boolean).length);
    bda.setUint8(0x84, ROWS - 1);
    vm.writePhys(BDA, new Uint8Array(bda.buffer));
    vm.fillPhys(EBDA, 0x400);
    vm.writePhys(EBDA, Uint8Array.of(1)); // EBDA size in KiB
    vm.fillPhys(CGA_TEXT, COLUMNS * ROWS * 2);
    this.clearScreen();
  }

  private boot(cpu: Vcpu): void {
    const disk = this.m.disks[0];
    if (!disk) { this.m.fail('nothing to boot: no disk'); return; }
    const sector = new Uint8Array(SECTOR_SIZE);
    const st = disk.read(0, 1, sector);
    if (!st.ok) { this.m.fail(`cannot read the boot sector of ${disk.name}: ${st.message}`); return; }
    if (sector[510] !== 0x55 || sector[511] !== 0xaa) {
      this.m.fail(`${disk.name} is not bootable: sector 0 does not end with the 55 AA signature`);
      return;
    }
    this.m.vm.writePhys(BOOT_ADDR, sector);
    const real = (selector: number) => ({ selector, base: selector << 4, limit: 0xffff, attr: 0x93 });
    for (const s of ['ds', 'es', 'ss', 'fs', 'gs'] as const) cpu.setSegment(s, real(0));
    cpu.setSegment('cs', { ...real(0), attr: 0x9b });
    cpu.eip = BOOT_ADDR;
    cpu.setReg('esp', BOOT_ADDR);
    cpu.setReg('edx', 0x80);
    cpu.eflags = 0x202;
  }

  // ---- services ----
  private service(cpu: Vcpu, vector: number): void {
    const ax = cpu.reg('eax') & 0xffff, ah = ax >> 8;
    switch (vector) {
      case 0x10: this.video(cpu, ah); return;
      case 0x11: this.setAx(cpu, EQUIPMENT); return;
      case 0x12: this.setAx(cpu, BASE_MEMORY_KB); return;
      case 0x13: this.disk(cpu, ah); return;
      case 0x15: this.system(cpu, ax); return;
      case 0x16: this.keyboard(cpu, ah); return;
      case 0x19: this.boot(cpu); return;
      case 0x1a: this.time(cpu, ah); return;
      case 0x18: this.m.fail('no bootable device (INT 18h)'); return;
    }
  }

  private setAx(cpu: Vcpu, v: number): void { cpu.setReg('eax', (cpu.reg('eax') & 0xffff0000) | (v & 0xffff)); }
  private setAh(cpu: Vcpu, v: number): void { cpu.setReg('eax', (cpu.reg('eax') & 0xffff00ff) | ((v & 0xff) << 8)); }
  private setFlag(cpu: Vcpu, flag: number, on: boolean): void { cpu.eflags = on ? cpu.eflags | flag : cpu.eflags & ~flag; }
  /** A service result: AH = status, CF = failed. */
  private status(cpu: Vcpu, ah: number): void { this.setAh(cpu, ah); this.setFlag(cpu, CF, ah !== 0); }
  private linear(cpu: Vcpu, s: SegName, off: number): number { return cpu.segment(s).base + (off & 0xffff); }
  private read16(a: number): number { const b = this.m.vm.readPhys(a, 2); return b[0] | (b[1] << 8); }

  // INT 10h
  private video(cpu: Vcpu, ah: number): void {
    const cga = this.m.cga;
    const al = cpu.reg('eax') & 0xff, bl = cpu.reg('ebx') & 0xff;
    const dx = cpu.reg('edx') & 0xffff, cx = cpu.reg('ecx') & 0xffff;
    switch (ah) {
      case 0x00: this.clearScreen(); return;
      case 0x01: cga.crtc[10] = cx >> 8; cga.crtc[11] = cx & 0xff; return;
      case 0x02: this.setCursor((dx >> 8) * COLUMNS + (dx & 0xff)); return;
      case 0x03: {
        const pos = cga.cursor;
        cpu.setReg('edx', (Math.floor(pos / COLUMNS) << 8) | (pos % COLUMNS));
        cpu.setReg('ecx', (cga.crtc[10] << 8) | cga.crtc[11]);
        return;
      }
      case 0x06: case 0x07: this.scroll(ah === 0x06 ? al : -al, cx, dx, (cpu.reg('ebx') >> 8) & 0xff); return;
      case 0x08: {
        const cell = this.m.vm.readPhys(CGA_TEXT + cga.cursor * 2, 2);
        this.setAx(cpu, cell[0] | (cell[1] << 8));
        return;
      }
      case 0x09: case 0x0a:
        for (let i = 0; i < cx; i++) this.putCell(cga.cursor + i, al, ah === 0x09 ? bl : undefined);
        return;
      case 0x0e: this.teletype(al); return;
      case 0x0f: this.setAx(cpu, (COLUMNS << 8) | 3); cpu.setReg('ebx', cpu.reg('ebx') & 0xffff00ff); return;
      case 0x13: {
        const text = this.m.vm.readPhys(this.linear(cpu, 'es', cpu.reg('ebp')), cx);
        const saved = cga.cursor;
        this.setCursor((dx >> 8) * COLUMNS + (dx & 0xff));
        for (const ch of text) this.teletype(ch, bl);
        if (!(al & 1)) this.setCursor(saved);
        return;
      }
    }
  }

  private setCursor(pos: number): void {
    this.m.cga.cursor = pos;
    const row = Math.floor(pos / COLUMNS), col = pos % COLUMNS;
    this.m.vm.writePhys(BDA + 0x50, Uint8Array.of(col, row));
  }

  private putCell(pos: number, ch: number, attr?: number): void {
    if (pos >= COLUMNS * ROWS) return;
    this.m.vm.writePhys(CGA_TEXT + pos * 2, attr === undefined ? Uint8Array.of(ch) : Uint8Array.of(ch, attr));
  }

  private clearScreen(): void {
    const blank = new Uint8Array(COLUMNS * ROWS * 2);
    for (let i = 1; i < blank.length; i += 2) blank[i] = 0x07;
    this.m.vm.writePhys(CGA_TEXT, blank);
    this.setCursor(0);
  }

  /** Scroll rows [top, bottom] x [left, right] up by n (down when negative; 0 = clear). */
  private scroll(n: number, topLeft: number, bottomRight: number, attr: number): void {
    const top = topLeft >> 8, left = topLeft & 0xff;
    const bottom = Math.min(ROWS - 1, bottomRight >> 8), right = Math.min(COLUMNS - 1, bottomRight & 0xff);
    const height = bottom - top + 1;
    const lines = n === 0 || Math.abs(n) >= height ? height : Math.abs(n);
    const width = (right - left + 1) * 2;
    const vm = this.m.vm;
    const rowAt = (r: number) => CGA_TEXT + (r * COLUMNS + left) * 2;
    const rows = n >= 0 ? Array.from({ length: height }, (_, i) => top + i) : Array.from({ length: height }, (_, i) => bottom - i);
    for (let i = 0; i < height; i++) {
      const dst = rows[i];
      if (i + lines < height) vm.writePhys(rowAt(dst), vm.readPhys(rowAt(rows[i + lines]), width));
      else {
        const blank = new Uint8Array(width);
        for (let j = 1; j < width; j += 2) blank[j] = attr;
        vm.writePhys(rowAt(dst), blank);
      }
    }
  }

  private teletype(ch: number, attr?: number): void {
    let pos = this.m.cga.cursor;
    if (ch === 0x0d) pos -= pos % COLUMNS;
    else if (ch === 0x0a) pos += COLUMNS;
    else if (ch === 0x08) { if (pos % COLUMNS) pos--; }
    else if (ch !== 0x07) { this.putCell(pos, ch, attr); pos++; }
    if (pos >= COLUMNS * ROWS) {
      this.scroll(1, 0, ((ROWS - 1) << 8) | (COLUMNS - 1), 0x07);
      pos -= COLUMNS;
    }
    this.setCursor(pos);
  }

  // INT 13h
  private disk(cpu: Vcpu, ah: number): void {
    const dl = cpu.reg('edx') & 0xff;
    const disk = dl >= 0x80 ? this.m.disks[dl - 0x80] : undefined;
    if (!disk) { this.status(cpu, 0x01); return; }
    const cx = cpu.reg('ecx') & 0xffff, dh = (cpu.reg('edx') >> 8) & 0xff;
    const cylinders = Math.min(1024, Math.floor(disk.sectors / (HEADS * SPT)));
    switch (ah) {
      case 0x00: case 0x0d: case 0x10: case 0x11: this.status(cpu, 0); return; // reset, ready, recalibrate
      case 0x01: this.status(cpu, 0); return;
      case 0x02: case 0x03: {
        const count = cpu.reg('eax') & 0xff;
        const cyl = (cx >> 8) | ((cx & 0xc0) << 2), sector = cx & 0x3f;
        if (sector === 0 || dh >= HEADS) { this.status(cpu, 0x01); return; }
        const lba = (cyl * HEADS + dh) * SPT + sector - 1;
        const done = this.transfer(disk, ah === 0x03, lba, count, this.linear(cpu, 'es', cpu.reg('ebx')));
        this.setAx(cpu, (done === count ? 0 : 0x04) << 8 | done);
        this.setFlag(cpu, CF, done !== count);
        return;
      }
      case 0x08: {
        const c = cylinders - 1;
        cpu.setReg('ecx', ((c & 0xff) << 8) | ((c >> 2) & 0xc0) | SPT);
        cpu.setReg('edx', ((HEADS - 1) << 8) | this.m.disks.filter(Boolean).length);
        cpu.setReg('ebx', cpu.reg('ebx') & 0xffff0000);
        this.status(cpu, 0);
        return;
      }
      case 0x15:
        this.setAh(cpu, 0x03); this.setFlag(cpu, CF, false); // a fixed disk
        cpu.setReg('ecx', disk.sectors >>> 16); cpu.setReg('edx', (cpu.reg('edx') & 0xffff0000) | (disk.sectors & 0xffff));
        return;
      case 0x41:
        if ((cpu.reg('ebx') & 0xffff) !== 0x55aa) { this.status(cpu, 0x01); return; }
        cpu.setReg('ebx', 0xaa55); cpu.setReg('ecx', 0x0001); // EDD 1.1: extended disk access
        this.status(cpu, 0); this.setAh(cpu, 0x21);
        return;
      case 0x42: case 0x43: {
        const dap = this.m.vm.readPhys(this.linear(cpu, 'ds', cpu.reg('esi')), 16);
        const v = new DataView(dap.buffer);
        const count = v.getUint16(2, true);
        const buffer = (v.getUint16(6, true) << 4) + v.getUint16(4, true);
        const lba = v.getUint32(8, true) + v.getUint32(12, true) * 2 ** 32;
        const done = this.transfer(disk, ah === 0x43, lba, count, buffer);
        this.m.vm.writePhys(this.linear(cpu, 'ds', cpu.reg('esi')) + 2, Uint8Array.of(done & 0xff, done >> 8));
        this.status(cpu, done === count ? 0 : 0x04);
        return;
      }
      case 0x48: {
        const out = new DataView(new ArrayBuffer(0x1a));
        out.setUint16(0, 0x1a, true);
        out.setUint16(2, 0x0002, true); // CHS information valid
        out.setUint32(4, cylinders, true); out.setUint32(8, HEADS, true); out.setUint32(12, SPT, true);
        out.setUint32(16, disk.sectors, true);
        out.setUint16(24, SECTOR_SIZE, true);
        this.m.vm.writePhys(this.linear(cpu, 'ds', cpu.reg('esi')), new Uint8Array(out.buffer));
        this.status(cpu, 0);
        return;
      }
      default: this.status(cpu, 0x01);
    }
  }

  /** Sectors moved between the disk and guest memory at `addr`; stops at the first failure. */
  private transfer(disk: BlockDevice, write: boolean, lba: number, count: number, addr: number): number {
    const buf = new Uint8Array(SECTOR_SIZE);
    for (let i = 0; i < count; i++) {
      const at = addr + i * SECTOR_SIZE;
      if (write) {
        if (!disk.write(lba + i, 1, this.m.vm.readPhys(at, SECTOR_SIZE)).ok) return i;
      } else {
        if (!disk.read(lba + i, 1, buf).ok) return i;
        this.m.vm.writePhys(at, buf);
      }
    }
    return count;
  }

  // INT 15h
  private system(cpu: Vcpu, ax: number): void {
    const eax = cpu.reg('eax');
    if (eax === 0xe820 && cpu.reg('edx') === SMAP) {
      const map = pcMemoryMap(this.m.vm.ramBytes);
      const i = cpu.reg('ebx');
      if (i >= map.length || cpu.reg('ecx') < 20) { this.status(cpu, 0x86); return; }
      const e = new DataView(new ArrayBuffer(20));
      e.setUint32(0, map[i].base, true); e.setUint32(8, map[i].length, true); e.setUint32(16, map[i].type, true);
      this.m.vm.writePhys(this.linear(cpu, 'es', cpu.reg('edi')), new Uint8Array(e.buffer));
      cpu.setReg('eax', SMAP); cpu.setReg('ecx', 20); cpu.setReg('ebx', i + 1 < map.length ? i + 1 : 0);
      this.setFlag(cpu, CF, false);
      return;
    }
    const ram = this.m.vm.ramBytes;
    switch (ax) {
      case 0xe801: {
        const low = Math.min(15 * 1024, (ram - 0x100000) / 1024);
        const high = Math.max(0, Math.floor((ram - 0x1000000) / 0x10000));
        cpu.setReg('eax', low); cpu.setReg('ecx', low); cpu.setReg('ebx', high); cpu.setReg('edx', high);
        this.setFlag(cpu, CF, false);
        return;
      }
      case 0x2400: case 0x2401: this.m.a20(ax === 0x2401); this.status(cpu, 0); return;
      case 0x2402: this.setAx(cpu, this.m.a20() ? 1 : 0); this.setFlag(cpu, CF, false); return;
      case 0x2403: cpu.setReg('ebx', 0x0003); this.status(cpu, 0); return; // via the 8042 and port 92h
    }
    if (ax >> 8 === 0x88) { this.setAx(cpu, Math.min(0xfc00, (ram - 0x100000) / 1024)); this.setFlag(cpu, CF, false); return; }
    if (ax >> 8 === 0x86) { this.status(cpu, 0); return; } // wait: time is the guest's to spend
    this.status(cpu, 0x86); // function not supported
  }

  // INT 16h
  private keyboard(cpu: Vcpu, ah: number): void {
    switch (ah) {
      case 0x00: case 0x10: {
        const k = this.m.key(true);
        if (k === undefined) {
          // no key yet: run the stub again (interrupts on) until one arrives
          cpu.eip -= 2;
          cpu.eflags |= IF;
          return;
        }
        this.setAx(cpu, keyWord(k));
        return;
      }
      case 0x01: case 0x11: {
        const k = this.m.key(false);
        this.setFlag(cpu, ZF, k === undefined);
        if (k !== undefined) this.setAx(cpu, keyWord(k));
        return;
      }
      case 0x02: case 0x12: this.setAx(cpu, 0); return; // no shift keys held
    }
  }

  // INT 1Ah
  private time(cpu: Vcpu, ah: number): void {
    const c = (r: number) => this.m.cmos(r);
    switch (ah) {
      case 0x00: {
        const t = this.m.vm.readPhys32(BDA + 0x6c);
        cpu.setReg('ecx', t >>> 16); cpu.setReg('edx', t & 0xffff); this.setAx(cpu, 0);
        return;
      }
      case 0x02: cpu.setReg('ecx', (c(4) << 8) | c(2)); cpu.setReg('edx', c(0) << 8); this.setFlag(cpu, CF, false); return;
      case 0x04: cpu.setReg('ecx', (c(0x32) << 8) | c(9)); cpu.setReg('edx', (c(8) << 8) | c(7)); this.setFlag(cpu, CF, false); return;
      default: this.setFlag(cpu, CF, true);
    }
  }
}

/** Vectors the BIOS serves itself (the rest get an IRET). */
const SERVICES = new Set([0x10, 0x11, 0x12, 0x13, 0x15, 0x16, 0x18, 0x19, 0x1a]);
/** Equipment word: 80x25 colour video, one serial port. */
const EQUIPMENT = 0x0220;
/** Set-1 scancodes of the printable ASCII keys a US keyboard has, for INT 16h. */
const SCANCODES: Record<string, number> = Object.fromEntries([
  ...[...'1234567890-='].map((k, i) => [k, 0x02 + i]), ...[...'qwertyuiop[]'].map((k, i) => [k, 0x10 + i]),
  ...[...'asdfghjkl;\'`'].map((k, i) => [k, 0x1e + i]), ...[...'\\zxcvbnm,./'].map((k, i) => [k, 0x2b + i]),
  [' ', 0x39], ['\r', 0x1c], ['\n', 0x1c], ['\b', 0x0e], ['\t', 0x0f], ['\x1b', 0x01],
]);
function keyWord(ascii: number): number {
  const ch = String.fromCharCode(ascii);
  const code = SCANCODES[ch] ?? SCANCODES[ch.toLowerCase()] ?? 0;
  return (code << 8) | (ascii === 0x0a ? 0x0d : ascii);
}

export { FIRMWARE_PORT };
