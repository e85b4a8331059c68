// Intel 8042 keyboard controller (ports 0x60 data, 0x64 status/command) with
// the keyboard behind it, and the A20 gate it owns: output port bit 1, plus
// the "fast A20" bit of system control port A (0x92) that chipsets added.
// Reset comes from command 0xFE (pulse output bit 0) or bit 0 of port 0x92.
import type { PortDevice, IoSize } from '../vm/portbus.js';
import type { SnapshotPart } from '../vm/snapshot-part.js';

export const KBD_DATA = 0x60;
export const KBD_STATUS = 0x64;
export const PORT_A = 0x92;

const ST_OBF = 0x01, ST_SYS = 0x04, ST_CMD = 0x08, ST_UNLOCKED = 0x10, ST_AUX = 0x20;
const CB_KBD_IRQ = 0x01, CB_AUX_IRQ = 0x02, CB_SYS = 0x04, CB_KBD_OFF = 0x10, CB_AUX_OFF = 0x20, CB_XLATE = 0x40;
const OUT_RESET = 0x01, OUT_A20 = 0x02;
const ACK = 0xfa;

export interface I8042Wiring {
  irq1(level: boolean): void;
  irq12(level: boolean): void;
  /** The A20 line changed (true = enabled). */
  a20(enabled: boolean): void;
  /** The controller pulsed the CPU's reset line. */
  reset(): void;
}

/** What I8042 saves in a snapshot. */
export interface I8042State {
  commandByte: number;
  outputPort: number;
  portA: number;
  queue: { v: number; aux: boolean }[];
  expect: 'kbd' | 'commandByte' | 'outputPort' | 'kbdArg' | 'aux';
  lastWasCommand: boolean;
  kbdScanning: boolean;
}

export class I8042 implements PortDevice, SnapshotPart<I8042State> {
  readonly name = 'i8042';
  private commandByte = CB_KBD_IRQ | CB_SYS | CB_XLATE;
  private outputPort = OUT_RESET | OUT_A20;
  private portA = 0;
  /** Bytes waiting for the guest, with whether each came from the aux (mouse) port. */
  private queue: { v: number; aux: boolean }[] = [];
  /** What the next byte written to 0x60 means: 0 = a keyboard command. */
  private expect: 'kbd' | 'commandByte' | 'outputPort' | 'kbdArg' | 'aux' = 'kbd';
  private lastWasCommand = false;
  private kbdScanning = true;

  constructor(private readonly wire: I8042Wiring) {}

  readonly snapshotVersion = 1;
  saveState(): I8042State {
    return {
      commandByte: this.commandByte,
      outputPort: this.outputPort,
      portA: this.portA,
      queue: structuredClone(this.queue),
      expect: this.expect,
      lastWasCommand: this.lastWasCommand,
      kbdScanning: this.kbdScanning,
    };
  }
  loadState(s: I8042State): void {
    ({ expect: this.expect, commandByte: this.commandByte, outputPort: this.outputPort, portA: this.portA, lastWasCommand: this.lastWasCommand, kbdScanning: this.kbdScanning } = s);
    this.queue = structuredClone(s.queue);
      }

  get a20Enabled(): boolean { return ((this.outputPort | this.portA) & OUT_A20) !== 0; }

  /** Scancodes from the host keyboard (set 1, as translated by the controller). */
  pressKey(codes: number[]): void {
    if (!this.kbdScanning || this.commandByte & CB_KBD_OFF) return;
    for (const c of codes) this.queue.push({ v: c & 0xff, aux: false });
    this.updateIrq();
  }

  private reply(...bytes: number[]): void {
    for (const v of bytes) this.queue.push({ v, aux: false });
    this.updateIrq();
  }

  private updateIrq(): void {
    const head = this.queue[0];
    this.wire.irq1(!!head && !head.aux && (this.commandByte & CB_KBD_IRQ) !== 0);
    this.wire.irq12(!!head && head.aux && (this.commandByte & CB_AUX_IRQ) !== 0);
  }

  read(port: number, _size: IoSize): number {
    if (port === PORT_A) return this.portA;
    if (port === KBD_STATUS) {
      const head = this.queue[0];
      return (head ? ST_OBF | (head.aux ? ST_AUX : 0) : 0) | (this.commandByte & CB_SYS ? ST_SYS : 0)
        | (this.lastWasCommand ? ST_CMD : 0) | ST_UNLOCKED;
    }
    const head = this.queue.shift();
    this.updateIrq();
    return head ? head.v : 0;
  }

  write(port: number, _size: IoSize, value: number): void {
    const v = value & 0xff;
    if (port === PORT_A) {
      const before = this.a20Enabled;
      this.portA = v & 0x03;
      if (this.a20Enabled !== before) this.wire.a20(this.a20Enabled);
      if (v & 1) { this.portA &= ~1; this.wire.reset(); }
      return;
    }
    if (port === KBD_STATUS) { this.lastWasCommand = true; this.command(v); return; }
    this.lastWasCommand = false;
    this.data(v);
  }

  private command(c: number): void {
    switch (c) {
      case 0x20: this.reply(this.commandByte); return;
      case 0x60: this.expect = 'commandByte'; return;
      case 0xa7: this.commandByte |= CB_AUX_OFF; return;
      case 0xa8: this.commandByte &= ~CB_AUX_OFF; return;
      case 0xa9: this.reply(0x00); return; // aux interface test: passed
      case 0xaa: this.reply(0x55); return; // self test: passed
      case 0xab: this.reply(0x00); return; // keyboard interface test: passed
      case 0xad: this.commandByte |= CB_KBD_OFF; return;
      case 0xae: this.commandByte &= ~CB_KBD_OFF; return;
      case 0xc0: this.reply(0x00); return; // input port
      case 0xd0: this.reply(this.outputPort); return;
      case 0xd1: this.expect = 'outputPort'; return;
      case 0xd4: this.expect = 'aux'; return;
      case 0xdd: this.setOutputPort(this.outputPort & ~OUT_A20); return;
      case 0xdf: this.setOutputPort(this.outputPort | OUT_A20); return;
      default:
        // 0xF0-0xFF pulse the output lines whose bit is 0: bit 0 is the CPU reset
        if (c >= 0xf0 && !(c & 1)) this.wire.reset();
    }
  }

  private setOutputPort(v: number): void {
    const before = this.a20Enabled;
    this.outputPort = v;
    if (this.a20Enabled !== before) this.wire.a20(this.a20Enabled);
    if (!(v & OUT_RESET)) { this.outputPort |= OUT_RESET; this.wire.reset(); }
  }

  private data(v: number): void {
    const expect = this.expect;
    this.expect = 'kbd';
    switch (expect) {
      case 'commandByte': this.commandByte = v; this.updateIrq(); return;
      case 'outputPort': this.setOutputPort(v); return;
      case 'kbdArg': this.reply(ACK); return;
      case 'aux': this.queue.push({ v: 0xfe, aux: true }); this.updateIrq(); return; // no mouse: resend
    }
    // keyboard commands
    switch (v) {
      case 0xff: this.kbdScanning = true; this.reply(ACK, 0xaa); return; // reset, self test passed
      case 0xf2: this.reply(ACK, 0xab, 0x83); return; // identify: MF2 keyboard
      case 0xf4: this.kbdScanning = true; this.reply(ACK); return;
      case 0xf5: this.kbdScanning = false; this.reply(ACK); return;
      case 0xee: this.reply(0xee); return; // echo
      case 0xed: case 0xf0: case 0xf3: this.expect = 'kbdArg'; this.reply(ACK); return;
      default: this.reply(ACK);
    }
  }

  /** Back to power-on state (machine reset), A20 enabled. */
  resetState(): void {
    this.commandByte = CB_KBD_IRQ | CB_SYS | CB_XLATE;
    this.outputPort = OUT_RESET | OUT_A20;
    this.portA = 0;
    this.queue = [];
    this.expect = 'kbd';
  }
}
